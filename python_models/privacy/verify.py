"""Prove an erasure: no trace of the identifiers anywhere in the warehouse, and tombstoned.

Every base table of every schema is read once; every column that can hold text (VARCHAR,
JSON payloads such as `properties` and `_extra`, lists, structs) is matched, lower-cased,
against one regular expression built from the identifiers: each email in any spelling its
normalised form stands for (upper case, `+tags`, Gmail dots and googlemail.com), each phone
key with any separators between its digits (`+44 (0)20 7946-0958` and `020 7946 0958`), each
record id or customer key as a whole token. Views are not read: each is a query over the
tables read here. A verification also fails when an identifier has no tombstone, since a
re-extract would then bring the person back.

At a million customers that is about a billion text values, so each value meets the
regular expression only after cheap tests that any match must pass: it is at least as long
as the shortest spelling, an email's trace contains `@`, a record id's contains its longest
run of case-free characters (digits, punctuation) as they are. Matching is case-insensitive
in the expression itself rather than on a lower-cased copy of every value, and a column
whose longest value (DuckDB's storage statistics) is shorter than every spelling is
skipped unread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from python_models.privacy.keys import token
from python_models.privacy.requests import IdentifierRequest
from python_models.privacy.tombstones import TOMBSTONES

_ID_EDGE = "[^a-z0-9_-]"


def email_pattern(normalised: str) -> str:
    local, _, domain = normalised.partition("@")
    if domain == "gmail.com":
        local_re = r"\.?".join(re.escape(c) for c in local)
        domain_re = r"(gmail|googlemail)\.com"
    else:
        local_re, domain_re = re.escape(local), re.escape(domain)
    return rf"{local_re}(\+[^@\s\"]*)?@{domain_re}"


def phone_pattern(key: str) -> str:
    return "[^0-9]{0,3}".join(key) + "([^0-9]|$)"


def token_pattern(value: str) -> str:
    return f"(^|{_ID_EDGE}){re.escape(value.lower())}({_ID_EDGE}|$)"


def trace_pattern(requests: Sequence[IdentifierRequest]) -> str:
    """One RE2 alternation matching any spelling of any of the identifiers (lower case)."""
    parts = []
    for r in requests:
        if r.kind == "email":
            parts.append(email_pattern(r.normalised))
        elif r.kind == "phone":
            parts.append(phone_pattern(r.normalised))
        else:
            parts.append(token_pattern(r.normalised))
    return "|".join(f"({p})" for p in dict.fromkeys(parts))


def shortest_spelling(request: IdentifierRequest) -> int:
    """The fewest characters any spelling of the identifier takes (a `+tag`, Gmail dots or
    phone separators only add to the normalised form)."""
    return len(request.normalised)


_CASE_FREE_RUN = re.compile(r"[0-9_.:/@#+-]+")  # ASCII without case: no folding can change it


def token_anchor(value: str) -> str | None:
    """The longest run of characters without case in a record id (it appears as it is in
    every spelling), when it is long enough to be worth a substring test first."""
    runs = _CASE_FREE_RUN.findall(value.lower())
    longest = max(runs, key=len, default="")
    return longest if len(longest) >= 3 else None


def email_anchor(normalised: str) -> str | None:
    """A substring every spelling of an email holds as it is: the longest case-free run of
    its local part or of `@domain` (a `+tag` can only come between the two). None for
    Gmail, whose spellings may put a dot between any two characters of the local part."""
    local, _, domain = normalised.partition("@")
    if domain == "gmail.com":
        return None
    runs = [*_CASE_FREE_RUN.findall(local), *_CASE_FREE_RUN.findall(f"@{domain}")]
    longest = max(runs, key=len, default="")
    return longest if len(longest) >= 3 else None


def _anchored(value: str, anchors: list[str | None], match: str, params: dict, name: str) -> str:
    """`match` behind a substring test when every identifier has an anchor."""
    if not anchors or not all(anchors):
        return match
    tests = []
    for i, anchor in enumerate(dict.fromkeys(anchors)):
        params[f"{name}_{i}"] = anchor
        tests.append(f"contains({value}, ${name}_{i})")
    return f"(({' or '.join(tests)}) and {match})"


def trace_condition(requests: Sequence[IdentifierRequest], value: str) -> tuple[str, dict]:
    """SQL true for a text `value` holding a trace of any of the requests, and its
    parameters. Cheap tests guard each regular expression (see the module docstring)."""
    params: dict[str, str] = {}
    terms: list[str] = []
    emails = [r for r in requests if r.kind == "email"]
    phones = [r for r in requests if r.kind == "phone"]
    tokens = [r for r in requests if r.kind not in ("email", "phone")]
    if emails:
        params["email_pattern"] = trace_pattern(emails)
        match = f"regexp_matches({value}, $email_pattern, 'i')"
        anchors = [email_anchor(r.normalised) for r in emails]
        terms.append(
            f"(contains({value}, '@') and {_anchored(value, anchors, match, params, 'at')})"
        )
    if phones:
        params["phone_pattern"] = trace_pattern(phones)
        terms.append(f"regexp_matches({value}, $phone_pattern)")
    if tokens:
        params["token_pattern"] = trace_pattern(tokens)
        anchors = [token_anchor(r.normalised) for r in tokens]
        match = f"regexp_matches({value}, $token_pattern, 'i')"
        terms.append(_anchored(value, anchors, match, params, "anchor"))
    shortest = min(shortest_spelling(r) for r in requests)
    return f"(strlen({value}) >= {shortest} and ({' or '.join(terms)}))", params


def _is_text(data_type: str) -> bool:
    upper = data_type.upper()
    return (
        upper in ("VARCHAR", "JSON")
        or upper.endswith("[]")
        or upper.startswith(("STRUCT", "MAP", "UNION"))
    )


@dataclass
class VerifyReport:
    """Where traces were found (table, column, rows) and which identifiers lack a tombstone."""

    tables_scanned: int = 0
    columns_scanned: int = 0
    columns_skipped: int = 0  # of those: every value shorter than any spelling (statistics)
    traces: list[tuple[str, str, int]] = field(default_factory=list)
    missing_tombstones: list[tuple[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.traces and not self.missing_tombstones

    def describe(self) -> str:
        lines = [
            f"scanned {self.columns_scanned} text columns in {self.tables_scanned} tables "
            f"({self.columns_skipped} by their statistics alone): "
            + (
                "no trace found"
                if not self.traces
                else f"{len(self.traces)} column(s) hold a trace"
            )
        ]
        lines += [f"  TRACE {table}.{column}: {rows} row(s)" for table, column, rows in self.traces]
        lines += [
            f"  NOT TOMBSTONED request {request_id}: its {kind} (a re-extract would bring it back)"
            for request_id, kind in self.missing_tombstones
        ]
        return "\n".join(lines)


def _longest_values(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, int]:
    """{column: longest value in bytes} from DuckDB's storage statistics, for the plain text
    columns whose every segment reports it (another segment of the same name, such as a
    struct's field, can only raise the figure, so skipping stays safe)."""
    rows = con.execute(
        "select column_name, max(try_cast(stats.max_string_length as bigint)), "
        "bool_and(stats.max_string_length is not null) "
        "from pragma_storage_info(?) where segment_type in ('VARCHAR', 'JSON') group by 1",
        [f'"{schema}"."{table}"'],
    ).fetchall()
    return {column: int(longest) for column, longest, complete in rows if complete}


def verify_erasure(
    con: duckdb.DuckDBPyConnection,
    requests: Sequence[IdentifierRequest],
    *,
    key: bytes,
    check_tombstones: bool = True,
) -> VerifyReport:
    """Scan every text column of every table for the identifiers of `requests`."""
    report = VerifyReport()
    if not requests:
        return report
    shortest = min(shortest_spelling(r) for r in requests)
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type "
        "from information_schema.columns as c join information_schema.tables as t "
        "using (table_catalog, table_schema, table_name) where t.table_type = 'BASE TABLE' "
        "and c.table_catalog = current_database() and c.table_schema not like 'pg_%' "
        "and c.table_schema <> 'information_schema' order by 1, 2, c.ordinal_position"
    ).fetchall():
        if _is_text(data_type):
            columns.setdefault((schema, table), []).append((column, data_type.upper()))
    for (schema, table), typed in columns.items():
        report.tables_scanned += 1
        report.columns_scanned += len(typed)
        longest = _longest_values(con, schema, table)
        names = [
            name
            for name, data_type in typed
            if not (data_type in ("VARCHAR", "JSON") and longest.get(name, shortest) < shortest)
        ]
        report.columns_skipped += len(typed) - len(names)
        if not names:
            continue
        conditions, params = [], {}
        for name in names:
            value = f'"{name}"' if dict(typed)[name] == "VARCHAR" else f'"{name}"::varchar'
            condition, params = trace_condition(requests, value)
            conditions.append(condition)
        # One pass, one filter: every row meets the columns' tests once (an OR stops at the
        # first that holds), and only the rare row holding a trace reaches the counts.
        counts = ", ".join(f"count(*) filter (where {c})" for c in conditions)
        row = con.execute(
            f'select {counts} from "{schema}"."{table}" where {" or ".join(conditions)}', params
        )
        for name, rows in zip(names, row.fetchone(), strict=True):
            if rows:
                report.traces.append((f"{schema}.{table}", name, int(rows)))
    if check_tombstones:
        held = _tombstone_tokens(con)
        for r in requests:
            if token(key, r.kind, r.normalised) not in held:
                report.missing_tombstones.append((r.request_id, r.kind))
    return report


def _tombstone_tokens(con: duckdb.DuckDBPyConnection) -> set[str]:
    schema, _, table = TOMBSTONES.partition(".")
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()[0]
    if not exists:
        return set()
    return {r[0] for r in con.execute(f"select token from {TOMBSTONES}").fetchall()}

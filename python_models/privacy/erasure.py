"""Right to erasure: resolve requests to customers, delete every row about them, tombstone.

`erase` works on a batch of requests in a handful of set-based statements, so erasing a
thousand people costs about what erasing one does:

1. **Resolve.** Each identifier (normalised: `identifiers`) is matched to customer keys
   through the identity graph and the keyed person records. A request matching several
   customers erases all of them; one matching no one is a `no_match` result, audited.
2. **Collect.** The erase set holds, per request, the request's identifiers, the matched
   customers' keys, every linked source record id (CRM id, loyalty id, order, ticket, web
   account, cookie) and their emails and phones, except an email or phone that a customer
   outside the request also holds (a household's landline or shared address stays, and so
   does the household member).
3. **Delete.** Raw and quarantine rows are matched on the raw contract's `identifies=`
   columns; every other table (staging tables, intermediate, marts, identity graph, links,
   review queue, merges, model outputs and training snapshots, exports and audience
   snapshots) on its person columns by name (`customer_key`, a source system + record id
   pair, email/phone/identifier columns, the record-id columns). Views need nothing.
   Aggregates (segment summaries, cluster profiles) hold no person and stay.
4. **Tell the exports.** Every audience whose latest snapshot held an erased customer gets
   a `removed` entry (reason `erased`) in an `erasure-<run_id>/removed.csv` beside its runs,
   so the email tool deletes the contact too.
5. **Tombstone and audit.** A keyed hash of each erased identifier goes to
   `privacy.tombstones`; `audit.privacy_log` gets one row per request with its outcome,
   customers matched and rows per table, without any identifier.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from python_models.contract import RAW_TABLES
from python_models.privacy.analytics import PERSON_KEYS
from python_models.privacy.analytics import SCHEMA as ANALYTICS_SCHEMA
from python_models.privacy.audit import ensure_privacy_log, log_events
from python_models.privacy.identifiers import (
    RECORD_KINDS,
    contact_kind_sql,
    identifier_sql,
)
from python_models.privacy.keys import token_sql
from python_models.privacy.requests import IdentifierRequest
from python_models.privacy.tombstones import LINE_SEPARATORS, TOMBSTONES, ensure_tombstone_table

#: schemas erasure never deletes from: seeds, the audit trail (holds no PII) and privacy's own.
UNTOUCHED_SCHEMAS = ("reference", "audit", "privacy", "information_schema", "pg_catalog")
RAW_SCHEMAS = ("raw", "quarantine")
#: columns that hold a customer key, by name, in any table.
KEY_COLUMNS = ("customer_key", "surviving_key", "merged_key", "original_key", "new_key")
#: (system column, record id column) pairs naming one source record.
RECORD_PAIRS = (
    ("source_system", "source_record_id"),
    ("left_source_system", "left_record_id"),
    ("right_source_system", "right_record_id"),
    ("customer_source_system", "customer_source_record_id"),
)
#: other person columns by name -> identifier kind (`contact`: email or phone by its '@').
NAMED_COLUMNS: dict[str, str] = {
    "email": "email",
    "primary_email": "email",
    "customer_email": "email",
    "granted_email": "email",
    "phone": "phone",
    "identifier": "contact",
    "identifier_match_key": "contact",
    "decided_by_identifier": "contact",
    **{kind: kind for kind in RECORD_KINDS},
}
ERASE_IDS = "_privacy_erase_ids"
#: the erase set as the row matching joins it: request number, kind, the graph's
#: source_system of a record kind (so a system + record id pair joins without a CASE per
#: row), normalised value.
MATCH = "_privacy_match"
#: keyed hashes of the erased customer keys and web ids, as `analytics` holds them.
TOKENS = "_privacy_tokens"
REQUEST_NOS = "_privacy_request_nos"
#: every email and phone the warehouse holds, as written (`raw`), with its normalised form:
#: the costly normalisation runs once per distinct spelling, not once per row of every
#: table that repeats it (an address sits in a dozen tables).
CONTACT_VALUES = "_privacy_contact_values"
#: the spellings of the erase set's emails and phones, matched as written.
CONTACT_MATCH = "_privacy_contact_match"
CONTACT_KINDS = ("email", "phone", "contact")
KEY_KIND = "'customer_key'"  # the kind `analytics` hashes every person key under


@dataclass
class ErasureResult:
    """What one request erased. `customer_keys` is shown to the operator, never stored."""

    request_id: str
    outcome: str  # erased | no_match
    customer_keys: list[str] = field(default_factory=list)
    rows_by_table: dict[str, int] = field(default_factory=dict)
    tombstones: int = 0
    audiences_notified: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_table.values())

    def describe(self) -> str:
        if self.outcome == "no_match":
            return f"request {self.request_id}: no match (nothing held under its identifiers)"
        keys = ", ".join(self.customer_keys) or "no resolved customer (raw/quarantine rows only)"
        return (
            f"request {self.request_id}: erased {len(self.customer_keys)} customer(s) [{keys}]; "
            f"{self.rows} rows in {len(self.rows_by_table)} tables; "
            f"{self.tombstones} tombstones; removed entries for "
            f"{', '.join(self.audiences_notified) or 'no audience'}"
        )


def _tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, str]]:
    """{(schema, table): {column: type}} of every base table."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, data_type in con.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type "
        "from information_schema.columns as c join information_schema.tables as t "
        "using (table_catalog, table_schema, table_name) where t.table_type = 'BASE TABLE' "
        "and c.table_catalog = current_database() order by c.table_schema, c.table_name, "
        "c.ordinal_position"
    ).fetchall():
        out.setdefault((schema, table), {})[column] = data_type
    return out


def _has(tables: dict, schema: str, table: str, *columns: str) -> bool:
    return all(c in tables.get((schema, table), {}) for c in columns)


def _system_kind_sql(system_column: str) -> str:
    cases = " ".join(f"when '{system}' then '{kind}'" for kind, system in RECORD_KINDS.items())
    return f"(case {system_column} {cases} end)"


def _load_requests(con: duckdb.DuckDBPyConnection, requests: Sequence[IdentifierRequest]) -> None:
    con.execute(
        f"create or replace temp table {ERASE_IDS} "
        "(request_id varchar, kind varchar, value varchar, origin varchar)"
    )
    con.execute(
        f"insert into {ERASE_IDS} select unnest(?), unnest(?), unnest(?), 'request'",
        [
            [r.request_id for r in requests],
            [r.kind for r in requests],
            [r.normalised for r in requests],
        ],
    )


def _resolve(con: duckdb.DuckDBPyConnection, tables: dict) -> None:
    """Add `_privacy_matched (request_id, customer_key)` and the customers' identifiers."""
    # Equi-joins only (one per way to match), so each is a hash join, not a nested loop.
    sources = []
    graph = ("identity", "identity_graph")
    if _has(tables, *graph, "customer_key", "source_system", "source_record_id"):
        sources.append(
            f"select e.request_id, g.customer_key from {ERASE_IDS} as e "
            "join identity.identity_graph as g on e.kind = 'customer_key' "
            "and e.value = lower(trim(g.customer_key))"
        )
        sources.append(
            f"select e.request_id, g.customer_key from {ERASE_IDS} as e "
            f"join identity.identity_graph as g on e.kind = {_system_kind_sql('g.source_system')} "
            "and e.value = lower(trim(g.source_record_id))"
        )
    keyed = ("intermediate", "int_person_records_keyed")
    has_keyed = _has(tables, *keyed, "customer_key", "email", "phone")
    if has_keyed:
        # every customer's emails and phones, normalised once: matched here, shared below
        held = " union ".join(
            f"select k.customer_key, v.kind, v.value "
            f"from intermediate.int_person_records_keyed as k join {CONTACT_VALUES} as v "
            f"on v.kind = '{kind}' and v.raw = k.{kind}"
            for kind in ("email", "phone")
        )
        con.execute(f"create or replace temp table _privacy_held as {held}")
        sources.append(
            f"select e.request_id, h.customer_key from {ERASE_IDS} as e "
            "join _privacy_held as h using (kind, value)"
        )
    body = " union ".join(sources) or "select null::varchar, null::varchar where false"
    con.execute(
        "create or replace temp table _privacy_matched as "
        f"select distinct * from ({body}) as m(request_id, customer_key) "
        "where customer_key is not null"
    )
    # Every record linked to a matched customer, as identifiers of the erase set.
    if _has(tables, "identity", "identity_graph", "customer_key", "source_record_id"):
        con.execute(
            f"insert into {ERASE_IDS} select distinct m.request_id, "
            f"{_system_kind_sql('g.source_system')}, lower(trim(g.source_record_id)), 'linked' "
            "from _privacy_matched as m join identity.identity_graph as g using (customer_key) "
            f"where {_system_kind_sql('g.source_system')} is not null"
        )
    con.execute(
        f"insert into {ERASE_IDS} select distinct request_id, 'customer_key', "
        "lower(trim(customer_key)), 'linked' from _privacy_matched"
    )
    if has_keyed:
        # Their emails and phones, unless a customer outside this batch holds the same one.
        con.execute(f"""
            insert into {ERASE_IDS}
            with theirs as (
                select distinct m.request_id, h.kind, h.value
                from _privacy_matched as m join _privacy_held as h using (customer_key)
            ),
            shared as (
                select distinct h.kind, h.value from _privacy_held as h
                semi join theirs using (kind, value)
                anti join (select distinct customer_key from _privacy_matched) as m
                    using (customer_key)
            )
            select request_id, kind, value, 'linked' from theirs
            anti join shared using (kind, value)
        """)
    con.execute(f"create or replace temp table {ERASE_IDS} as select distinct * from {ERASE_IDS}")


def _record_pairs(text_columns: set[str]) -> list[tuple[str, str]]:
    """The (system, record id) column pairs of a table: the fixed ones and every
    `<attribute>_source_system` beside its `<attribute>_source_record_id` (a golden record's
    provenance: which source record its name, email, phone... came from)."""
    derived = [
        (c, c.removesuffix("source_system") + "source_record_id")
        for c in sorted(text_columns)
        if c.endswith("source_system")
    ]
    pairs = dict.fromkeys([*RECORD_PAIRS, *derived])
    return [(s, r) for s, r in pairs if s in text_columns and r in text_columns]


def _identifier_columns(schema: str, table: str, columns: dict[str, str]) -> list[tuple[str, str]]:
    """(column, identifier kind) of the columns of one table that hold an identifier as a
    source wrote it: the raw contract's `identifies=` columns in raw and quarantine, the
    person columns by name elsewhere."""
    text = {c for c, t in columns.items() if t == "VARCHAR"}
    if schema in RAW_SCHEMAS:
        contract = {t.table: t for t in RAW_TABLES}.get(table)
        pairs = (
            [(c.name, c.identifies) for c in contract.columns if c.identifies] if contract else []
        )
    else:
        pairs = [(c, kind) for c, kind in NAMED_COLUMNS.items()]
    return [(c, kind) for c, kind in pairs if c in text]


def record_id_probe_sql(expression: str) -> str:
    """`record_id_sql` for an equality join, about twice as cheap per row: a value that
    begins and ends with a visible ASCII character has nothing for `trim` to remove (it
    strips spaces and Unicode space separators, never a printable ASCII character), so
    only the rare other value is trimmed. No `nullif`: an empty string matches no id."""
    edges = (
        f"ascii({expression}) between 33 and 126 "
        f"and ascii(right({expression}, 1)) between 33 and 126"
    )
    return f"(case when {edges} then lower({expression}) else lower(trim({expression})) end)"


def _contact_kind(kind: str, value: str) -> str:
    return contact_kind_sql(value) if kind == "contact" else f"'{kind}'"


def _matchers(schema: str, table: str, columns: dict[str, str]) -> list[tuple[str, str]]:
    """(work table, join condition on `t` and `e`) for each person column of one table.

    An email or phone column meets the erase set's spellings as written (`CONTACT_MATCH`);
    a record id is normalised (trimmed, lower case) on the way. Every other table than raw
    and quarantine holds customer keys as identity wrote them (`c_` + hex, already
    normal), so a key column is matched as it is, and a record pair joins on its system
    column directly. In `analytics` the person keys are keyed hashes and meet the erased
    keys' tokens."""
    columns_all = columns
    text = {c for c, t in columns.items() if t == "VARCHAR"}
    found: list[tuple[str, str]] = []
    if schema == ANALYTICS_SCHEMA:  # its person keys hold tokens: no plain value can match
        text -= PERSON_KEYS
        columns = {c: t for c, t in columns.items() if c in text}
    if schema not in RAW_SCHEMAS:
        for column in KEY_COLUMNS:
            if column in text:
                found.append((MATCH, f"e.kind = 'customer_key' and e.value = t.\"{column}\""))
        for system, record in _record_pairs(text):
            value = record_id_probe_sql(f't."{record}"')
            found.append((MATCH, f'e.system = t."{system}" and e.value = {value}'))
        if schema == ANALYTICS_SCHEMA:
            hashed = [c for c in sorted(PERSON_KEYS) if columns_all.get(c) == "VARCHAR"]
            found += [(TOKENS, f'e.token = t."{c}"') for c in hashed]
    for column, kind in _identifier_columns(schema, table, columns):
        value = f't."{column}"'
        if kind in CONTACT_KINDS:
            condition = f"e.kind = {_contact_kind(kind, value)} and e.raw = {value}"
            found.append((CONTACT_MATCH, condition))
        else:  # a record id (or a customer key in a raw table)
            found.append((MATCH, f"e.kind = '{kind}' and e.value = {record_id_probe_sql(value)}"))
    return found


def _contact_values(con: duckdb.DuckDBPyConnection, tables: dict) -> None:
    """`CONTACT_VALUES (kind, raw, value)`: every distinct email and phone of the
    warehouse's person columns as written, normalised once."""
    parts = []
    for (schema, table), columns in tables.items():
        if schema in UNTOUCHED_SCHEMAS:
            continue
        for column, kind in _identifier_columns(schema, table, columns):
            if kind in CONTACT_KINDS:
                value = f'"{column}"'
                parts.append(
                    f"select {_contact_kind(kind, value)} as kind, {value} as raw "
                    f'from "{schema}"."{table}" where {value} is not null'
                )
    body = " union all ".join(parts) or "select null::varchar, null::varchar where false"
    # Two statements, so the distinct spellings are settled before anything is normalised
    # (in one, the optimiser may normalise every row below the distinct). A spelling that
    # normalises to nothing stays, with a null value that never matches.
    con.execute(
        f"create or replace temp table {CONTACT_VALUES} as "
        f"select distinct kind, raw from ({body}) as v(kind, raw)"
    )
    con.execute(
        f"create or replace temp table {CONTACT_VALUES} as select kind, raw, case kind "
        f"when 'email' then {identifier_sql('email', 'raw')} "
        f"else {identifier_sql('phone', 'raw')} end as value from {CONTACT_VALUES}"
    )


def hits_sql(
    schema: str, table: str, columns: dict[str, str], *, tokens: bool = True
) -> str | None:
    """SQL of `(rid, request_no)`: the rows of one table that name someone in the erase set
    (None when the table has no person column). One hash join per person column, the erase
    set being the small side. `tokens=False` leaves out the hashed keys of `analytics`
    (an access request has no key to hash with)."""
    matchers = [(w, c) for w, c in _matchers(schema, table, columns) if tokens or w != TOKENS]
    target = f'"{schema}"."{table}"'
    parts = [
        f"select t.rowid as rid, e.request_no from {target} as t join {work} as e on {condition}"
        for work, condition in matchers
    ]
    if schema == "quarantine" and "_extra" in columns:
        parts += _unparseable_line_hits(target)
    return " union all ".join(parts) or None


def _unparseable_line_hits(target: str) -> list[str]:
    """Hits among a quarantine table's unparseable lines, which keep only their raw text
    (`_extra.raw_line`): each piece between CSV or JSON punctuation meets the erase set as
    an email or phone and as a record id (few rows: the pieces are normalised on the fly)."""
    line = "t._extra->>'raw_line'"
    pieces = (
        f"select t.rowid as rid, unnest(string_split_regex({line}, '{LINE_SEPARATORS}')) "
        f"as piece from {target} as t where {line} is not null"
    )
    normalised = (
        f"select rid, {contact_kind_sql('piece')} as contact_kind, "
        f"{identifier_sql('contact', 'piece')} as contact_value, "
        f"{identifier_sql('crm_id', 'piece')} as record_value from ({pieces})"
    )
    contacts = ", ".join(f"'{k}'" for k in CONTACT_KINDS)
    return [
        f"select p.rid, e.request_no from ({normalised}) as p join {MATCH} as e "
        "on e.kind = p.contact_kind and e.value = p.contact_value",
        f"select p.rid, e.request_no from ({normalised}) as p join {MATCH} as e "
        f"on e.kind not in ({contacts}) and e.value = p.record_value",
    ]


def collect_hits(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: dict[str, str]
) -> dict[str, int]:
    """Fill `_privacy_hits (rid, request_id)` with the rows of one table that name someone
    in the erase set; returns {request_id: rows}. Access requests read them."""
    con.execute("create or replace temp table _privacy_hits (rid bigint, request_id varchar)")
    hits = hits_sql(schema, table, columns, tokens=False)
    if hits is None:
        return {}
    con.execute(
        f"insert into _privacy_hits select distinct h.rid, r.request_id from ({hits}) as h "
        f"join {REQUEST_NOS} as r using (request_no)"
    )
    counts = con.execute(
        "select request_id, count(distinct rid) from _privacy_hits group by 1"
    ).fetchall()
    return {k: int(v) for k, v in counts}


def _delete_everywhere(
    con: duckdb.DuckDBPyConnection, tables: dict[tuple[str, str], dict[str, str]]
) -> dict[str, dict[str, int]]:
    """Delete every row naming someone in the erase set: {request_id: {table: rows}}.

    The hits of every table are found in ONE statement (a union of hash joins, each table
    read once per person column), so a warehouse of a hundred tables costs one query plan,
    not hundreds. They are kept as small integers (table number, rowid, request number)
    sorted by table, so each table's keyed delete reads only its own hits. Rowids are
    stable inside the transaction, and no table is changed between finding its hits and
    deleting them."""
    names: list[tuple[str, str]] = []
    parts = []
    for (schema, table), columns in tables.items():
        hits = None if schema in UNTOUCHED_SCHEMAS else hits_sql(schema, table, columns)
        if hits is not None:
            parts.append(f"select {len(names)}::integer as table_no, rid, request_no from ({hits})")
            names.append((schema, table))
    if not parts:
        return {}
    con.execute(
        "create or replace temp table _privacy_hits_all as "
        f"select distinct * from ({' union all '.join(parts)}) order by table_no, rid"
    )
    rows: dict[str, dict[str, int]] = {}
    counts = con.execute(
        "select h.table_no, r.request_id, count(distinct h.rid) from _privacy_hits_all as h "
        f"join {REQUEST_NOS} as r using (request_no) group by 1, 2 order by 1, 2"
    ).fetchall()
    for table_no, request_id, count in counts:
        schema, table = names[table_no]
        rows.setdefault(request_id, {})[f"{schema}.{table}"] = int(count)
    for table_no in sorted({c[0] for c in counts}):
        schema, table = names[table_no]
        con.execute(
            f'delete from "{schema}"."{table}" where rowid in '
            "(select rid from _privacy_hits_all where table_no = ?)",
            [table_no],
        )
    return rows


def _match_tables(con: duckdb.DuckDBPyConnection, tables: dict, key: bytes | None) -> None:
    """The erase set as row matching joins it (`MATCH`, `TOKENS`, `REQUEST_NOS`)."""
    con.execute(
        f"create or replace temp table {REQUEST_NOS} as select (row_number() over "
        f"(order by request_id))::integer as request_no, request_id "
        f"from (select distinct request_id from {ERASE_IDS})"
    )
    systems = " ".join(f"when '{kind}' then '{system}'" for kind, system in RECORD_KINDS.items())
    con.execute(
        f"create or replace temp table {MATCH} as select r.request_no, e.kind, "
        f"(case e.kind {systems} end) as system, e.value "
        f"from {ERASE_IDS} as e join {REQUEST_NOS} as r using (request_id)"
    )
    con.execute(
        f"create or replace temp table {CONTACT_MATCH} as select e.request_no, v.kind, v.raw "
        f"from {MATCH} as e join {CONTACT_VALUES} as v using (kind, value)"
    )
    con.execute(f"create or replace temp table {TOKENS} (request_no integer, token varchar)")
    if key is None:
        return
    # `analytics` hashes every person key (customer key, cookie, web account) as a customer
    # key, from the value as the table held it: the graph's spelling.
    web = tuple(RECORD_KINDS[k] for k in ("user_id", "anonymous_id"))
    held = [
        "select request_id, customer_key as value from _privacy_matched",
        f"select request_id, value from {ERASE_IDS} where kind = 'customer_key'",
    ]
    if _has(tables, "identity", "identity_graph", "customer_key", "source_record_id"):
        held.append(
            "select m.request_id, g.source_record_id from _privacy_matched as m "
            "join identity.identity_graph as g using (customer_key) "
            f"where g.source_system in {web}"
        )
    con.execute(
        f"insert into {TOKENS} select distinct r.request_no, "
        f"{token_sql(key, KEY_KIND, 'h.value')} "
        f"from ({' union '.join(held)}) as h join {REQUEST_NOS} as r using (request_id)"
    )


def resolve_requests(
    con: duckdb.DuckDBPyConnection,
    requests: Sequence[IdentifierRequest],
    *,
    key: bytes | None = None,
) -> tuple[dict, dict[str, list[str]]]:
    """Load the requests and resolve them (temp tables `_privacy_erase_ids`,
    `_privacy_matched` and the matching tables); returns the warehouse's tables and
    {request_id: customer keys}. With `key`, the hashed keys of `analytics` are matched too."""
    tables = _tables(con)
    _load_requests(con, requests)
    _contact_values(con, tables)
    _resolve(con, tables)
    _match_tables(con, tables, key)
    matched: dict[str, list[str]] = {}
    for request_id, customer_key in con.execute(
        "select request_id, customer_key from _privacy_matched order by 1, 2"
    ).fetchall():
        matched.setdefault(request_id, []).append(customer_key)
    return tables, matched


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for temp in (
        ERASE_IDS,
        MATCH,
        TOKENS,
        REQUEST_NOS,
        CONTACT_VALUES,
        CONTACT_MATCH,
        "_privacy_matched",
        "_privacy_held",
        "_privacy_hits",
        "_privacy_hits_all",
    ):
        con.execute(f"drop table if exists {temp}")


def _notify_audiences(
    con: duckdb.DuckDBPyConnection, tables: dict, run_id: str, now: datetime
) -> dict[str, list[str]]:
    """Write `removed` entries for every audience whose latest snapshot held an erased
    customer; returns {request_id: [audience, ...]}."""
    if not (
        _has(tables, "exports", "audience_snapshots", "audience", "run_id", "customer_key")
        and _has(tables, "exports", "export_runs", "audience", "run_id", "folder")
    ):
        return {}
    rows = con.execute("""
        with latest as (
            select audience, arg_max(run_id, generated_at) as run_id,
                   arg_max(folder, generated_at) as folder
            from exports.export_runs where status in ('complete', 'completed') group by audience
        )
        select distinct latest.audience, latest.folder, s.export_key, m.request_id
        from latest
        join exports.audience_snapshots as s using (audience, run_id)
        join _privacy_matched as m on m.customer_key = s.customer_key
        order by 1, 3
    """).fetchall()
    by_audience: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for audience, folder, export_key, request_id in rows:
        by_audience.setdefault((audience, folder), []).append((export_key, request_id))
    notified: dict[str, list[str]] = {}
    for (audience, folder), entries in by_audience.items():
        if folder:
            _write_removed(Path(folder).parent / f"erasure-{run_id}", audience, entries, now)
        for _, request_id in entries:
            notified.setdefault(request_id, [])
            if audience not in notified[request_id]:
                notified[request_id].append(audience)
    return notified


def _write_removed(
    folder: Path, audience: str, entries: list[tuple[str, str]], now: datetime
) -> None:
    """`removed.csv` (export_key, removal_reason) and a manifest, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "removed.csv"
    temporary = folder / ".removed.csv.tmp"
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["export_key", "removal_reason"])
        writer.writerows((key, "erased") for key, _ in sorted(set(entries)))
    os.replace(temporary, target)
    manifest = folder / "manifest.json"
    temporary = folder / ".manifest.json.tmp"
    temporary.write_text(
        json.dumps(
            {
                "audience": audience,
                "kind": "erasure",
                "generated_at": now.isoformat(),
                "files": {"removed.csv": len(set(entries))},
            },
            indent=2,
        )
    )
    os.replace(temporary, manifest)


def _tombstone(con: duckdb.DuckDBPyConnection, key: bytes, now: datetime) -> dict[str, int]:
    ensure_tombstone_table(con)
    token = token_sql(key, "e.kind", "e.value")
    counts = dict(
        con.execute(f"select request_id, count(*) from {ERASE_IDS} group by 1").fetchall()
    )
    con.execute(
        f"insert into {TOMBSTONES} select distinct e.kind, {token}, e.request_id, ? "
        f"from {ERASE_IDS} as e where not exists "
        f"(select 1 from {TOMBSTONES} as t where t.token = {token})",
        [now],
    )
    return {k: int(v) for k, v in counts.items()}


def erase(
    con: duckdb.DuckDBPyConnection,
    requests: Sequence[IdentifierRequest],
    *,
    key: bytes,
    run_id: str,
    now: datetime | None = None,
) -> list[ErasureResult]:
    """Erase everyone the requests name, in one transaction; one result per request id."""
    if not requests:
        return []
    now = now or datetime.now(UTC).replace(tzinfo=None)
    ensure_privacy_log(con)
    ensure_tombstone_table(con)
    con.execute("begin transaction")
    try:
        tables, matched = resolve_requests(con, requests, key=key)
        notified = _notify_audiences(con, tables, run_id, now)
        rows = _delete_everywhere(con, tables)
        tombstones = _tombstone(con, key, now)
        kinds: dict[str, set[str]] = {}
        for r in requests:
            kinds.setdefault(r.request_id, set()).add(r.kind)
        results = []
        for request_id in kinds:
            by_table = rows.get(request_id, {})
            outcome = "erased" if by_table or matched.get(request_id) else "no_match"
            results.append(
                ErasureResult(
                    request_id,
                    outcome,
                    matched.get(request_id, []),
                    by_table,
                    tombstones.get(request_id, 0) if outcome == "erased" else 0,
                    notified.get(request_id, []),
                )
            )
        unmatched = [r.request_id for r in results if r.outcome == "no_match"]
        if unmatched:
            con.execute(f"delete from {TOMBSTONES} where list_contains(?, request_id)", [unmatched])
        log_events(
            con,
            "erasure",
            [
                {
                    "request_id": r.request_id,
                    "outcome": r.outcome,
                    "subjects": len(r.customer_keys),
                    "rows_by_table": r.rows_by_table,
                    "details": {
                        "tombstones": r.tombstones,
                        "audiences_notified": r.audiences_notified,
                        "identifier_types": sorted(kinds[r.request_id]),
                    },
                }
                for r in results
            ],
            run_id=run_id,
            occurred_at=now,
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        drop_work_tables(con)
    return results

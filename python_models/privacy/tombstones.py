"""Tombstones: keyed hashes of an erased person's identifiers, checked at every extract.

Deletion is an event, not a state: the landing files (or a live source's re-delivery) still
hold the person, and a re-extract would bring them back. `privacy.tombstones` keeps one row
per (kind, HMAC token) of each erased, normalised identifier and no plain value, and
`block_tombstoned_rows` is the one function every extract calls after writing a load's rows:
it deletes the rows of that load that carry a tombstoned identifier in any column the raw
contract marks with `identifies=`, and returns how many, for the load audit's
`rows_blocked`.
"""

from __future__ import annotations

import duckdb

from python_models.contract import RawTable
from python_models.privacy.identifiers import contact_kind_sql, identifier_sql
from python_models.privacy.keys import token_sql

SCHEMA = "privacy"
TOMBSTONES = f"{SCHEMA}.tombstones"


class MissingPrivacyKey(RuntimeError):
    """Tombstones exist but the extract was given no HMAC key to check them with."""


def ensure_tombstone_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(
        f"create table if not exists {TOMBSTONES} (identifier_kind varchar, token varchar, "
        "request_id varchar, created_at timestamp)"
    )


def tombstone_count(con: duckdb.DuckDBPyConnection, table: str = TOMBSTONES) -> int:
    """How many tombstones `table` holds (0 when erasure has never run)."""
    schema, _, name = table.partition(".")
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    if not exists:
        return 0
    return int(con.execute(f"select count(*) from {table}").fetchone()[0])


def tombstoned_sql(key: bytes, kind: str, expression: str, table: str = TOMBSTONES) -> str:
    """SQL that is true when the identifier of `kind` in `expression` (as written; it is
    normalised here) is tombstoned, null when it is null."""
    token = token_sql(key, f"'{kind}'", identifier_sql(kind, expression))
    return f"({token} in (select token from {table}))"


def identifier_columns(table: RawTable) -> list[tuple[str, str]]:
    """(column, identifier kind) of every column of `table` that names a person."""
    return [(c.name, c.identifies) for c in table.columns if c.identifies]


def blocked_predicate_sql(table: RawTable, key: bytes, alias: str = "r") -> str | None:
    """SQL that is true for a row of `table` holding a tombstoned identifier (None when the
    table has no identifier columns)."""
    checks = []
    for column, kind in identifier_columns(table):
        value = f'{alias}."{column}"'
        kind_sql = contact_kind_sql(value) if kind == "contact" else f"'{kind}'"
        token = token_sql(key, kind_sql, identifier_sql(kind, value))
        checks.append(f"{token} in (select token from {TOMBSTONES})")
    return " or ".join(f"({c})" for c in checks) if checks else None


def _tombstones_to_check(
    con: duckdb.DuckDBPyConnection, table: RawTable, key: bytes | None
) -> bool:
    """Whether a load of `table` has tombstones to check; raises MissingPrivacyKey when it
    has and no key was given: loading anyway would bring erased people back."""
    if not tombstone_count(con):
        return False
    if key is None:
        raise MissingPrivacyKey(
            f"{TOMBSTONES} holds erasure tombstones but the extract of {table.table} got no "
            "HMAC key: set CUSTOMER360_PRIVACY_KEY (the key the erasures were made with)"
        )
    return True


def block_tombstoned_rows(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    load_id: str,
    key: bytes | None,
    schema: str = "raw",
) -> int:
    """Delete the rows of load `load_id` in `<schema>.<table>` that a tombstone blocks.

    Runs inside the caller's transaction. Returns the number of rows blocked. Raises
    MissingPrivacyKey when tombstones exist and no key was given: loading anyway would bring
    erased people back.
    """
    if not _tombstones_to_check(con, table, key):
        return 0
    predicate = blocked_predicate_sql(table, key)
    if predicate is None:
        return 0
    target = f'{schema}."{table.table}"'
    blocked = con.execute(
        f"delete from {target} as r where r._load_id = ? and ({predicate})", [load_id]
    ).fetchone()
    return int(blocked[0]) if blocked else 0


#: CSV and JSON punctuation: what separates the values of a line no reader could split
LINE_SEPARATORS = r'[,;\t|"{}\[\]]'


def block_tombstoned_lines(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    lines: str,
    key: bytes | None,
) -> int:
    """Delete the unparseable lines in table `lines` (`row_number`, `raw_line`) of a load of
    `table` that hold a tombstoned identifier; return how many.

    Such a line never reaches raw (it goes to quarantine with its raw text), so it has no
    columns to check: every piece between CSV or JSON punctuation is checked as each
    identifier kind the table holds. Runs inside the caller's transaction.
    """
    if not _tombstones_to_check(con, table, key):
        return 0
    kinds = sorted({kind for _, kind in identifier_columns(table)})
    if not kinds:
        return 0
    checks = []
    for kind in kinds:
        kind_sql = contact_kind_sql("piece") if kind == "contact" else f"'{kind}'"
        token = token_sql(key, kind_sql, identifier_sql(kind, "piece"))
        checks.append(f"({token} in (select token from {TOMBSTONES}))")
    pieces = (
        f"select row_number, unnest(string_split_regex(raw_line, '{LINE_SEPARATORS}')) as piece "
        f"from {lines}"
    )
    blocked = con.execute(
        f"delete from {lines} where row_number in "
        f"(select row_number from ({pieces}) where {' or '.join(checks)})"
    ).fetchone()
    return int(blocked[0]) if blocked else 0

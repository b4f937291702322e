"""Quarantine: move rows that fail blocking rules out of the way of staging, losing nothing.

`quarantine.<table>` holds a copy of each failing raw row (all raw columns and `_` metadata),
`failed_rules` (the names of the blocking rules it failed), `quarantined_at` and `released_at`.
The raw row stays where it is; staging reads raw anti-joined on `(_load_id, _row_number)` to the
unreleased quarantine rows. Evaluation is one set-based DuckDB statement per load: the rules
read only the columns they need, and only the failing rows are copied whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from python_models.contract import METADATA_COLUMNS, QUARANTINE_COLUMNS, raw_table
from python_models.quality.rules import table_rules
from python_models.quality.sql import failing_rows_sql, quote_ident, quote_literal, rule_columns

QUARANTINE_SCHEMA = "quarantine"
RAW_SCHEMA = "raw"


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0]
    return bool(row and row[0])


def relation_columns(
    con: duckdb.DuckDBPyConnection, schema: str, table: str
) -> list[tuple[str, str]]:
    return [
        (name, dtype)
        for name, dtype in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def raw_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of raw.<table>: from the warehouse if loaded, else from the registry."""
    if relation_exists(con, RAW_SCHEMA, table):
        return relation_columns(con, RAW_SCHEMA, table)
    return [(c, "VARCHAR") for c in raw_table(table).column_names] + list(METADATA_COLUMNS)


def ensure_quarantine_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create `quarantine.<table>` (raw columns + quarantine columns); add raw columns it lacks.

    Idempotent; works before `raw.<table>` exists by taking columns from the extract registry.
    """
    table_rules(table)  # a clear error for a table without rules
    wanted = raw_columns(con, table) + list(QUARANTINE_COLUMNS)
    con.execute(f"create schema if not exists {QUARANTINE_SCHEMA}")
    target = f"{QUARANTINE_SCHEMA}.{quote_ident(table)}"
    if not relation_exists(con, QUARANTINE_SCHEMA, table):
        body = ", ".join(f"{quote_ident(n)} {t}" for n, t in wanted)
        con.execute(f"create table if not exists {target} ({body})")
        return
    have = {name for name, _ in relation_columns(con, QUARANTINE_SCHEMA, table)}
    for name, dtype in wanted:
        if name not in have:  # schema evolution: a new raw column
            con.execute(f"alter table {target} add column {quote_ident(name)} {dtype}")


def load_rows_sql(table: str, load_id: str) -> str:
    return (
        f"select * from {RAW_SCHEMA}.{quote_ident(table)} where _load_id = {quote_literal(load_id)}"
    )


def quarantine_load(con: duckdb.DuckDBPyConnection, table: str, load_id: str) -> int:
    """Evaluate the blocking rules on the rows of one load; copy failures to quarantine.

    Re-running for the same load replaces that load's unreleased quarantine rows, so the call is
    idempotent. Returns the number of rows quarantined.
    """
    spec = table_rules(table)
    if not relation_exists(con, RAW_SCHEMA, table):
        raise ValueError(f"quarantine_load: raw.{table} does not exist (load {load_id!r})")
    ensure_quarantine_table(con, table)
    target = f"{QUARANTINE_SCHEMA}.{quote_ident(table)}"
    source = f"{RAW_SCHEMA}.{quote_ident(table)}"
    rules = spec.row_rules("blocking")
    read = ", ".join(quote_ident(c) for c in rule_columns(rules))
    this_load = f"_load_id = {quote_literal(load_id)}"
    failing = failing_rows_sql(f"select {read} from {source} where {this_load}", rules)
    con.execute("begin transaction")
    try:
        # Only rows this function manages: the extract also quarantines rows no reader could
        # parse (they never reached raw), and those must survive a re-run.
        con.execute(
            f"delete from {target} where _load_id = ? and released_at is null and _row_number "
            f"in (select _row_number from {RAW_SCHEMA}.{quote_ident(table)} where _load_id = ?)",
            [load_id, load_id],
        )
        inserted = con.execute(
            f"insert into {target} by name "
            f"select raw.*, failing.failed_rules, "
            f"current_timestamp::timestamp as quarantined_at, null::timestamp as released_at "
            f"from {source} as raw join ({failing}) as failing using (_row_number) "
            f"where raw.{this_load}"
        )
        count = inserted.fetchall()[0][0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return int(count)


@dataclass(frozen=True)
class RuleFailure:
    """One blocking rule's failures in one load, with a few sample rows for the alert."""

    table: str
    load_id: str
    rule: str
    failing_rows: int
    samples: list[dict]

    def message(self) -> str:
        lines = [
            f"source {self.table}, load {self.load_id}: rule {self.rule} failed on "
            f"{self.failing_rows} row(s); samples:"
        ]
        lines += [f"  {s}" for s in self.samples]
        return "\n".join(lines)


def quarantine_failures(
    con: duckdb.DuckDBPyConnection, table: str, load_id: str, samples: int = 3
) -> list[RuleFailure]:
    """Unreleased quarantine rows of a load, grouped by rule, largest first, with sample rows.

    Samples travel in alerts, so they carry only the row number, the natural key and the
    columns the rule reads, not the whole (personal) record.
    """
    if not relation_exists(con, QUARANTINE_SCHEMA, table):
        return []
    spec = table_rules(table)
    known_rules = {r.name: r for r in spec.rules}
    target = f"{QUARANTINE_SCHEMA}.{quote_ident(table)}"
    counts = con.execute(
        f"select rule, count(*) as n from (select unnest(failed_rules) as rule from {target} "
        f"where _load_id = ? and released_at is null) group by rule order by n desc, rule",
        [load_id],
    ).fetchall()
    out = []
    for rule, n in counts:
        shown = ["_row_number", *spec.natural_key]
        if rule in known_rules:
            shown += [c for c in known_rules[rule].columns if c not in shown]
        cur = con.execute(
            f"select {', '.join(quote_ident(c) for c in shown)} from {target} "
            f"where _load_id = ? and released_at is null and list_contains(failed_rules, ?) "
            f"order by _row_number limit {int(samples)}",
            [load_id, rule],
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        out.append(RuleFailure(table, load_id, rule, int(n), rows))
    return out

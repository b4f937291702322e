"""Replay: re-validate unreleased quarantined rows with today's rules and release those that pass.

Two ways a row comes back: the rule was fixed (the row now passes as it is), or an analyst fixed
the data by updating payload columns of `quarantine.<table>`. An edited row that passes is
written back into `raw.<table>` under the same `(_load_id, _row_number)`, so staging sees the
corrected values; running replay twice changes nothing the second time.

The rows are re-checked in the context of their whole load (raw rows, with quarantined payloads
swapped in), so the uniqueness rule still sees the row's siblings.

    customer360 quality replay [--warehouse data/warehouse.duckdb] [--table shop_orders]
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from python_models.contract import METADATA_COLUMNS
from python_models.quality.quarantine import (
    QUARANTINE_SCHEMA,
    RAW_SCHEMA,
    ensure_quarantine_table,
    relation_columns,
    relation_exists,
)
from python_models.quality.rules import REGISTRY, table_rules
from python_models.quality.sql import evaluate_rules_sql, quote_ident


@dataclass(frozen=True)
class ReplayReport:
    table: str
    pending: int
    released: int
    released_with_edits: int
    still_quarantined: int

    def line(self) -> str:
        return (
            f"{self.table}: {self.pending} pending, {self.released} released "
            f"({self.released_with_edits} with edited payload), "
            f"{self.still_quarantined} still quarantined"
        )


def payload_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    metadata = {name for name, _ in METADATA_COLUMNS}
    return [c for c, _ in relation_columns(con, RAW_SCHEMA, table) if c not in metadata]


def merged_load_sql(table: str, columns: list[str]) -> str:
    """Raw rows of loads with pending quarantine rows, pending payloads swapped in, plus pending
    rows that never reached raw (rows the extract could not parse; an analyst may rebuild them).
    """
    raw = f"{RAW_SCHEMA}.{quote_ident(table)}"
    pending = f"{QUARANTINE_SCHEMA}.{quote_ident(table)}"
    swapped = ", ".join(
        f"case when q._row_number is null then r.{quote_ident(c)} else q.{quote_ident(c)} end "
        f"as {quote_ident(c)}"
        for c in columns
    )
    plain = ", ".join(f"q.{quote_ident(c)}" for c in columns)
    edited = " or ".join(f"r.{quote_ident(c)} is distinct from q.{quote_ident(c)}" for c in columns)
    return (
        f"with q as (select * from {pending} where released_at is null) "
        f"select {swapped}, r._load_id, r._source_file, r._row_number, r._loaded_at, r._extra, "
        f"q._row_number is not null as _pending, "
        f"coalesce(q._row_number is not null and ({edited or 'false'}), false) as _edited, "
        f"true as _in_raw "
        f"from {raw} as r left join q on r._load_id = q._load_id and r._row_number = q._row_number "
        f"where r._load_id in (select distinct _load_id from q) "
        f"union all by name "
        f"select {plain}, q._load_id, q._source_file, q._row_number, q._loaded_at, q._extra, "
        f"true as _pending, true as _edited, false as _in_raw from q "
        f"where not exists (select 1 from {raw} as r "
        f"where r._load_id = q._load_id and r._row_number = q._row_number)"
    )


def replay_table(con: duckdb.DuckDBPyConnection, table: str) -> ReplayReport:
    """Release the pending quarantine rows of `table` that now pass every blocking rule."""
    spec = table_rules(table)
    if not relation_exists(con, RAW_SCHEMA, table):
        return ReplayReport(table, 0, 0, 0, 0)
    ensure_quarantine_table(con, table)
    columns = payload_columns(con, table)
    raw = f"{RAW_SCHEMA}.{quote_ident(table)}"
    target = f"{QUARANTINE_SCHEMA}.{quote_ident(table)}"
    evaluated = evaluate_rules_sql(merged_load_sql(table, columns), spec.row_rules("blocking"))
    con.execute("begin transaction")
    try:
        con.execute(
            f"create or replace temp table replay_candidates as "
            f"select * from ({evaluated}) where _pending"
        )
        pending, passing, edited = con.execute(
            "select count(*), count(*) filter (where len(failed_rules) = 0), "
            "count(*) filter (where len(failed_rules) = 0 and _edited) from replay_candidates"
        ).fetchall()[0]
        if edited:
            assignments = ", ".join(f"{quote_ident(c)} = c.{quote_ident(c)}" for c in columns)
            con.execute(
                f"update {raw} set {assignments} from replay_candidates as c "
                f"where len(c.failed_rules) = 0 and c._edited and c._in_raw "
                f"and {raw}._load_id = c._load_id and {raw}._row_number = c._row_number"
            )
            con.execute(
                f"insert into {raw} by name select * exclude (failed_rules, _pending, _edited, "
                f"_in_raw) from replay_candidates where len(failed_rules) = 0 and not _in_raw"
            )
        con.execute(
            f"update {target} set released_at = current_timestamp::timestamp "
            f"from replay_candidates as c where len(c.failed_rules) = 0 "
            f"and {target}.released_at is null "
            f"and {target}._load_id = c._load_id and {target}._row_number = c._row_number"
        )
        con.execute(
            f"update {target} set failed_rules = c.failed_rules from replay_candidates as c "
            f"where len(c.failed_rules) > 0 and {target}.released_at is null "
            f"and {target}._load_id = c._load_id and {target}._row_number = c._row_number"
        )
        con.execute("drop table replay_candidates")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return ReplayReport(table, pending, passing, edited, pending - passing)


def replay(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> list[ReplayReport]:
    """Replay every table with rules (or `tables`) whose quarantine exists."""
    names = tables or sorted(REGISTRY)
    return [
        replay_table(con, t) for t in names if relation_exists(con, QUARANTINE_SCHEMA, t) or tables
    ]

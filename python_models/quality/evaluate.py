"""Evaluate every registry rule (blocking and warning, row- and table-level) on one load.

Returns one `RuleResult` per rule: how many rows were checked, how many failed, and whether the
rule passed. Row rules are counted in a single DuckDB scan; completeness and cross-source rules
are one aggregate each. This is what the warning check, the scorecard and the CLI report read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

from python_models.contract import RawTable, Rule
from python_models.quality.quarantine import RAW_SCHEMA, load_rows_sql, relation_exists
from python_models.quality.rules import table_rules
from python_models.quality.sql import quote_ident, rule_failure_counts_sql


@dataclass(frozen=True)
class RuleResult:
    table: str
    load_id: str
    rule: str
    family: str
    severity: str
    rows_checked: int
    failing_rows: int
    passed: bool
    detail: str = ""

    @property
    def failing_share(self) -> float:
        return self.failing_rows / self.rows_checked if self.rows_checked else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "failing_share": round(self.failing_share, 6)}


def completeness_sql(column: str, source_sql: str) -> str:
    col = quote_ident(column)
    return (
        f"select count(*), count(*) filter (where {col} is null or trim({col}) = '') "
        f"from ({source_sql})"
    )


def exists_in_sources_sql(
    con: duckdb.DuckDBPyConnection, rule: Rule, source_sql: str
) -> str | None:
    """Rows whose value is unknown in every target source; None when no target is loaded yet."""
    targets = [(t, c) for t, c in rule.params["targets"] if relation_exists(con, RAW_SCHEMA, t)]
    if not targets:
        return None
    known = " union ".join(
        f"select lower(trim({quote_ident(c)})) as v from {RAW_SCHEMA}.{quote_ident(t)} "
        f"where {quote_ident(c)} is not null"
        for t, c in targets
    )
    col = quote_ident(rule.column)
    return (
        f"with known as ({known}), checked as (select lower(trim({col})) as v from ({source_sql}) "
        f"where {col} is not null and trim({col}) <> '') "
        f"select count(*), count(*) filter (where v not in (select v from known)) from checked"
    )


def agrees_across_sources_sql(
    con: duckdb.DuckDBPyConnection, rule: Rule, source_sql: str
) -> str | None:
    """Rows whose attribute conflicts with another source's value for the same key."""
    targets = [t for t in rule.params["targets"] if relation_exists(con, RAW_SCHEMA, t[0])]
    if not targets:
        return None
    key, attribute = (quote_ident(c) for c in rule.columns)
    others = " union ".join(
        f"select lower(trim({quote_ident(k)})) as k, trim({quote_ident(a)}) as a "
        f"from {RAW_SCHEMA}.{quote_ident(t)} "
        f"where nullif(trim({quote_ident(k)}), '') is not null "
        f"and nullif(trim({quote_ident(a)}), '') is not null"
        for t, k, a in targets
    )
    return (
        f"with others as ({others}), checked as (select lower(trim({key})) as k, "
        f"trim({attribute}) as a from ({source_sql}) where nullif(trim({key}), '') is not null "
        f"and nullif(trim({attribute}), '') is not null) "
        f"select count(*), count(*) filter (where exists (select 1 from others o "
        f"where o.k = checked.k and o.a <> checked.a)) from checked"
    )


def _table_rule_result(
    con: duckdb.DuckDBPyConnection, spec: RawTable, rule: Rule, load_id: str, source_sql: str
) -> RuleResult | None:
    if rule.kind == "completeness":
        checked, missing = con.execute(completeness_sql(rule.column, source_sql)).fetchall()[0]
        share = 1 - missing / checked if checked else 1.0
        passed = share >= rule.params["threshold"]
        detail = f"{share:.1%} filled (threshold {rule.params['threshold']:.0%})"
        return RuleResult(
            spec.table, load_id, rule.name, rule.family, rule.severity, checked, missing, passed,
            detail,
        )  # fmt: skip
    if rule.kind == "exists_in_sources":
        sql = exists_in_sources_sql(con, rule, source_sql)
        if sql is None:
            return None
        checked, unknown = con.execute(sql).fetchall()[0]
        return RuleResult(
            spec.table, load_id, rule.name, rule.family, rule.severity, checked, unknown,
            unknown <= rule.params["max_unknown_share"] * checked,
            f"{unknown} of {checked} values not found in any target source",
        )  # fmt: skip
    if rule.kind == "agrees_across_sources":
        sql = agrees_across_sources_sql(con, rule, source_sql)
        if sql is None:
            return None
        checked, conflicting = con.execute(sql).fetchall()[0]
        return RuleResult(
            spec.table, load_id, rule.name, rule.family, rule.severity, checked, conflicting,
            conflicting == 0, f"{conflicting} of {checked} rows disagree with another source",
        )  # fmt: skip
    raise ValueError(f"rule {rule.name!r}: unknown table-level kind {rule.kind!r}")


def evaluate_load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    load_id: str,
    kinds_only: tuple[str, ...] | None = None,
) -> list[RuleResult]:
    """Every rule of `table` (or those of `kinds_only`) on the raw rows of `load_id`.

    Quarantined rows are included: this is what the load delivered.
    """
    spec = table_rules(table)
    if not relation_exists(con, RAW_SCHEMA, table):
        raise ValueError(f"raw.{table} does not exist")
    source_sql = load_rows_sql(table, load_id)
    wanted = (lambda r: r.kind in kinds_only) if kinds_only else (lambda r: True)
    row_rules = [r for r in spec.row_rules() if wanted(r)]
    checked, *counts = con.execute(rule_failure_counts_sql(source_sql, row_rules)).fetchall()[0]
    results = [
        RuleResult(table, load_id, r.name, r.family, r.severity, checked, n, n == 0, r.description)
        for r, n in zip(row_rules, counts, strict=True)
    ]
    for rule in filter(wanted, spec.table_rules()):
        result = _table_rule_result(con, spec, rule, load_id, source_sql)
        if result is not None:
            results.append(result)
    return results


def latest_load_id(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    if not relation_exists(con, RAW_SCHEMA, table):
        return None
    rows = con.execute(
        f"select _load_id from {RAW_SCHEMA}.{quote_ident(table)} "
        f"group by _load_id order by max(_loaded_at) desc, _load_id desc limit 1"
    ).fetchall()
    return rows[0][0] if rows else None  # a raw table no load has written to yet

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
    """Per load of `source_sql`: (load, rows checked, rows whose value is unknown in every
    target source); None when no target is loaded yet."""
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
        f"with known as ({known}), checked as (select _load_id, lower(trim({col})) as v "
        f"from ({source_sql}) where {col} is not null and trim({col}) <> '') "
        f"select _load_id, count(*), count(*) filter (where v not in (select v from known)) "
        f"from checked group by _load_id"
    )


def agrees_across_sources_sql(
    con: duckdb.DuckDBPyConnection, rule: Rule, source_sql: str
) -> str | None:
    """Per load of `source_sql`: (load, rows checked, rows whose attribute conflicts with
    another source's value for the same key); None when no target is loaded yet."""
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
        f"with others as ({others}), checked as (select _load_id, lower(trim({key})) as k, "
        f"trim({attribute}) as a from ({source_sql}) where nullif(trim({key}), '') is not null "
        f"and nullif(trim({attribute}), '') is not null) "
        f"select _load_id, count(*), count(*) filter (where exists (select 1 from others o "
        f"where o.k = checked.k and o.a <> checked.a)) from checked group by _load_id"
    )


#: each cross-source rule kind and the builder of its per-load SQL
CROSS_SOURCE_SQL = {
    "exists_in_sources": exists_in_sources_sql,
    "agrees_across_sources": agrees_across_sources_sql,
}
CROSS_SOURCE_KINDS = tuple(CROSS_SOURCE_SQL)


def cross_source_results(
    con: duckdb.DuckDBPyConnection,
    spec: RawTable,
    rules: list[Rule],
    load_ids: list[str],
    source_sql: str,
) -> dict[str, list[RuleResult]]:
    """The cross-source `rules` of `spec` on every load of `load_ids` (`source_sql` holds their
    rows): one query per rule, however many loads. A load without checked rows gets
    `rows_checked` 0; a rule whose targets are not loaded yet gives no result."""
    results: dict[str, list[RuleResult]] = {load_id: [] for load_id in load_ids}
    for rule in rules:
        sql = CROSS_SOURCE_SQL[rule.kind](con, rule, source_sql)
        if sql is None:
            continue
        counts = {load: (checked, bad) for load, checked, bad in con.execute(sql).fetchall()}
        for load_id in load_ids:
            checked, bad = counts.get(load_id, (0, 0))
            if rule.kind == "exists_in_sources":
                passed = bad <= rule.params["max_unknown_share"] * checked
                detail = f"{bad} of {checked} values not found in any target source"
            else:
                passed = bad == 0
                detail = f"{bad} of {checked} rows disagree with another source"
            results[load_id].append(
                RuleResult(
                    spec.table,
                    load_id,
                    rule.name,
                    rule.family,
                    rule.severity,
                    checked,
                    bad,
                    passed,
                    detail,
                )
            )
    return results


def completeness_result(
    con: duckdb.DuckDBPyConnection, spec: RawTable, rule: Rule, load_id: str, source_sql: str
) -> RuleResult:
    checked, missing = con.execute(completeness_sql(rule.column, source_sql)).fetchall()[0]
    share = 1 - missing / checked if checked else 1.0
    passed = share >= rule.params["threshold"]
    detail = f"{share:.1%} filled (threshold {rule.params['threshold']:.0%})"
    return RuleResult(
        spec.table, load_id, rule.name, rule.family, rule.severity, checked, missing, passed,
        detail,
    )  # fmt: skip


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
    aggregate_rules = [r for r in spec.table_rules() if wanted(r)]
    unknown = [r for r in aggregate_rules if r.kind not in ("completeness", *CROSS_SOURCE_KINDS)]
    if unknown:
        raise ValueError(f"rule {unknown[0].name!r}: unknown table-level kind {unknown[0].kind!r}")
    cross_rules = [r for r in aggregate_rules if r.kind in CROSS_SOURCE_KINDS]
    cross = {
        r.rule: r
        for r in cross_source_results(con, spec, cross_rules, [load_id], source_sql)[load_id]
    }
    for rule in aggregate_rules:
        if rule.kind == "completeness":
            results.append(completeness_result(con, spec, rule, load_id, source_sql))
        elif rule.name in cross:
            results.append(cross[rule.name])
    return results


def latest_load_id(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    if not relation_exists(con, RAW_SCHEMA, table):
        return None
    rows = con.execute(
        f"select _load_id from {RAW_SCHEMA}.{quote_ident(table)} "
        f"group by _load_id order by max(_loaded_at) desc, _load_id desc limit 1"
    ).fetchall()
    return rows[0][0] if rows else None  # a raw table no load has written to yet

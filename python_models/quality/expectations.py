"""great-expectations suites built from the rule registry (rules are never written twice).

A rule with a natural GE expectation maps to it (required → not null, regex → match regex,
accepted values → in set, natural key → unique, completeness → not null with `mostly`). A rule
whose logic GE cannot express the same way (country-specific postcodes, timestamps relative to
the load time, ages, numbers held as text) is evaluated by its own DuckDB predicate into a
boolean column `fails__<rule>` of the batch, and GE expects that column to be all false, so GE
and the quarantine can never disagree. Every expectation carries `meta.rule`, `meta.severity`
and `meta.family`, which is how results map back to rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from python_models.contract import RawTable, Rule
from python_models.quality.sql import failure_predicate, quote_ident

if TYPE_CHECKING:  # GE takes seconds to import: only when a suite is actually built
    import great_expectations.expectations as gxe

NATIVE_KINDS = frozenset({"required", "regex", "accepted_values", "unique_in_load", "completeness"})
# Rules that read other tables: DuckDB evaluates them, GE does not.
SQL_ONLY_KINDS = frozenset({"exists_in_sources", "agrees_across_sources"})


def flag_column(rule: Rule) -> str:
    return f"fails__{rule.name}"


def flagged_rules(spec: RawTable) -> list[Rule]:
    return [r for r in spec.row_rules() if r.kind not in NATIVE_KINDS]


def batch_sql(spec: RawTable, columns: list[str], source_sql: str) -> str:
    """The GE batch: trimmed file columns (blank → NULL) plus one failure flag per flagged rule.

    Flags are computed over the whole `source_sql` (so window rules see the full load) before
    any sampling.
    """
    cleaned = ", ".join(
        f"nullif(trim(r.{quote_ident(c)}), '') as {quote_ident(c)}" for c in columns
    )
    flags = "".join(
        f", {failure_predicate(r)} as {quote_ident(flag_column(r))}" for r in flagged_rules(spec)
    )
    return f"select {cleaned}{flags} from ({source_sql}) as r"


def expectation_for(rule: Rule) -> gxe.Expectation | None:
    """The GE expectation that checks `rule` on a batch from `batch_sql` (None: SQL-only)."""
    import great_expectations.expectations as gxe

    meta = {
        "rule": rule.name,
        "severity": rule.severity,
        "family": rule.family,
        "description": rule.description,
    }
    kind = rule.kind
    if kind in SQL_ONLY_KINDS:
        return None
    if kind == "required":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta)
    if kind == "completeness":
        return gxe.ExpectColumnValuesToNotBeNull(
            column=rule.column, mostly=float(rule.params["threshold"]), meta=meta
        )
    if kind == "regex":
        return gxe.ExpectColumnValuesToMatchRegex(
            column=rule.column, regex=f"^(?:{rule.params['pattern']})$", meta=meta
        )
    if kind == "accepted_values":
        return gxe.ExpectColumnValuesToBeInSet(
            column=rule.column, value_set=list(rule.params["values"]), meta=meta
        )
    if kind == "unique_in_load":
        if len(rule.columns) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=rule.column, meta=meta)
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns), meta=meta)
    return gxe.ExpectColumnValuesToBeInSet(
        column=flag_column(rule), value_set=[False], meta={**meta, "evaluated_by": "duckdb"}
    )


def expectations_for(spec: RawTable) -> list[gxe.Expectation]:
    """The whole suite of `spec`, in registry order."""
    return [e for e in (expectation_for(r) for r in spec.rules) if e is not None]

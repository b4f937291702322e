"""The data-quality rules per raw table, as the quality package reads them.

The rules are declared in the raw contract (`python_models.contract.tables`), beside each
table's columns and keys; this module indexes them for the quarantine, replay, scorecard and
great-expectations code and renders the rule catalogue. The same `Rule` objects compile to
DuckDB SQL predicates (`sql.py`) and to great-expectations expectations (`expectations.py`).
"""

from __future__ import annotations

from python_models.contract import CONTRACT, RawTable

__all__ = ["REGISTRY", "rule_counts", "rules_markdown", "table_rules"]

#: raw table -> its contract (columns, keys and rules); a copy, so a test may patch one entry.
REGISTRY: dict[str, RawTable] = dict(CONTRACT)


def table_rules(table: str) -> RawTable:
    """The rules of `table`, with a clear error for a table the registry does not know."""
    try:
        return REGISTRY[table]
    except KeyError:
        raise KeyError(
            f"no data-quality rules registered for raw table {table!r}; "
            f"known: {', '.join(sorted(REGISTRY))}"
        ) from None


def rule_counts() -> dict[str, dict[str, int]]:
    """{table: {blocking: n, warning: n}} — for docs and the report."""
    return {
        t.table: {
            "blocking": sum(r.severity == "blocking" for r in t.rules),
            "warning": sum(r.severity == "warning" for r in t.rules),
        }
        for t in REGISTRY.values()
    }


def rules_markdown() -> str:
    """The rule catalogue as a Markdown table, for docs and reviews."""
    lines = [
        "| table | rule | family | severity | columns | what it checks |",
        "|---|---|---|---|---|---|",
    ]
    for spec in REGISTRY.values():
        for rule in spec.rules:
            lines.append(
                f"| {spec.table} | `{rule.name}` | {rule.family} | {rule.severity} "
                f"| {', '.join(rule.columns)} | {rule.description} |"
            )
    return "\n".join(lines)

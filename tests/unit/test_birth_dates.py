"""Birth dates as people write them are parsed; what cannot be parsed is counted, not lost.

The quality rule (python_models.quality.sql.parse_date_sql) and staging (the dbt macro
`parse_date`) read dates with the same expression: both run here on every format.
"""

from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml

from python_models.contract import CONTRACT
from python_models.contract.rules import MONTH_FIRST_COUNTRIES
from python_models.quality.sql import failure_predicate, parse_date_sql

DBT = Path(__file__).resolve().parents[2] / "dbt_project"
#: written -> (read day first, read month first)
FORMATS = {
    "1990-12-31": ("1990-12-31", "1990-12-31"),
    "1990-12-31T08:00:00Z": ("1990-12-31", "1990-12-31"),
    "1990/12/31": ("1990-12-31", "1990-12-31"),
    "19901231": ("1990-12-31", "1990-12-31"),
    "31/12/1990": ("1990-12-31", "1990-12-31"),
    "12/31/1990": ("1990-12-31", "1990-12-31"),
    "31.12.1990": ("1990-12-31", "1990-12-31"),
    "31-12-1990": ("1990-12-31", "1990-12-31"),
    "5/4/1990": ("1990-04-05", "1990-05-04"),
    " 05/04/1990 ": ("1990-04-05", "1990-05-04"),
    "1990-02-30": (None, None),
    "31/31/1990": (None, None),
    "christmas 1990": (None, None),
    "19901332": (None, None),
}


def parsed(expression_for, month_first: str) -> dict[str, str | None]:
    with duckdb.connect() as con:
        rows = con.execute(
            f"select v, {expression_for('v', month_first)}::varchar from (select unnest(?) as v)",
            [list(FORMATS)],
        ).fetchall()
    return dict(rows)


def dbt_macro(expression: str, month_first: str) -> str:
    source = (DBT / "macros" / "dates.sql").read_text()
    template = jinja2.Environment().from_string(
        source + "{{ duckdb__parse_date(expression, month_first) }}"
    )
    return template.render(expression=expression, month_first=month_first)


@pytest.mark.parametrize("month_first", ["false", "true"])
def test_common_formats_parse_in_the_rule_and_in_staging_alike(month_first):
    want = {v: days[month_first == "true"] for v, days in FORMATS.items()}

    assert parsed(parse_date_sql, month_first) == want
    assert parsed(dbt_macro, month_first) == want


def test_month_first_countries_are_one_list():
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["month_first_countries"]) == MONTH_FIRST_COUNTRIES


def rule_failures(table: str, values: list[tuple[str, str]]) -> dict[str, list[str]]:
    """rule name -> the birth dates failing it, for crm rows (birth_date, country)."""
    rules = [r for r in CONTRACT[table].row_rules() if r.column == "birth_date"]
    with duckdb.connect() as con:
        out = {}
        for rule in rules:
            out[rule.name] = [
                row[0]
                for row in con.execute(
                    "select birth_date from (select unnest(?) as birth_date, "
                    "unnest(?) as country, timestamp '2026-11-01' as _loaded_at) as r "
                    f"where {failure_predicate(rule)}",
                    [[v for v, _ in values], [c for _, c in values]],
                ).fetchall()
            ]
    return out


def test_what_cannot_be_parsed_is_counted_by_its_own_rule():
    failures = rule_failures(
        "crm_contacts",
        [("31/12/1990", "GB"), ("12/31/1990", "US"), ("31/31/1990", "GB"), ("1850-01-01", "GB")],
    )

    assert failures == {"birth_date_date": ["31/31/1990"], "birth_date_age": ["1850-01-01"]}


def test_every_date_column_has_a_rule_that_counts_what_staging_cannot_read():
    for table in CONTRACT.values():
        for column in table.columns:
            if column.type == "date":
                kinds = {r.kind for r in table.row_rules() if r.column == column.name}
                assert "date" in kinds, f"{table.table}.{column.name}"
            if column.type == "timestamp":
                kinds = {r.kind for r in table.row_rules() if r.column == column.name}
                assert "timestamp" in kinds, f"{table.table}.{column.name}"

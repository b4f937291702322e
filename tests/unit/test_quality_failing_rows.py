"""`failing_rows_sql` (what the quarantine runs) names the same failures as `evaluate_rules_sql`."""

import duckdb
import pytest

from python_models.quality.rules import REGISTRY
from python_models.quality.sql import (
    evaluate_rules_sql,
    failing_rows_sql,
    quote_ident,
    rule_columns,
)
from tests.support.raw_tables import insert_raw_rows

GOOD_ORDER = {
    "order_id": "o1",
    "ordered_at": "2026-10-01T10:00:00Z",
    "status": "completed",
    "currency": "GBP",
    "shipping_amount": "3.95",
}
ORDERS = [
    GOOD_ORDER,
    {**GOOD_ORDER, "order_id": "o2", "status": "lost", "shipping_amount": "-1"},  # two rules
    {**GOOD_ORDER, "order_id": "o1"},  # duplicate key
    {**GOOD_ORDER, "order_id": " o1 ", "ordered_at": "yesterday"},  # duplicate + bad timestamp
    {**GOOD_ORDER, "order_id": None, "currency": None},
    {**GOOD_ORDER, "order_id": "o3", "ordered_at": "2099-01-01T00:00:00+02:00"},
    {**GOOD_ORDER, "order_id": "o4"},
]


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def both_ways(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list, list]:
    rules = REGISTRY[table].row_rules("blocking")
    raw = f"select * from raw.{quote_ident(table)}"
    every = con.execute(
        f"select _row_number, failed_rules from ({evaluate_rules_sql(raw, rules)}) "
        f"where len(failed_rules) > 0 order by _row_number"
    ).fetchall()
    narrow = f"select {', '.join(map(quote_ident, rule_columns(rules)))} from raw.{table}"
    failing = con.execute(
        f"select * from ({failing_rows_sql(narrow, rules)}) order by _row_number"
    ).fetchall()
    return every, failing


def test_failing_rows_names_every_failed_rule_in_registry_order(con):
    insert_raw_rows(con, "shop_orders", ORDERS)

    every, failing = both_ways(con, "shop_orders")

    assert failing == every
    assert failing == [
        (2, ["status_accepted_values", "shipping_amount_range"]),
        (3, ["order_id_unique"]),
        (4, ["order_id_unique", "ordered_at_timestamp"]),
        (5, ["order_id_required", "currency_required"]),
        (6, ["ordered_at_timestamp"]),
    ]


def test_a_clean_load_has_no_failing_rows(con):
    insert_raw_rows(con, "shop_orders", [GOOD_ORDER, {**GOOD_ORDER, "order_id": "o2"}])

    assert both_ways(con, "shop_orders") == ([], [])


def test_no_rules_no_failing_rows(con):
    insert_raw_rows(con, "shop_orders", ORDERS)

    assert con.execute(failing_rows_sql("select * from raw.shop_orders", [])).fetchall() == []

"""Outliers: planted anomalies are flagged with a reason; nothing is dropped."""

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest

from python_models.quality.outliers import (
    detect_outliers,
    isolation_forest_flags,
    write_outliers,
)


@pytest.fixture
def marts() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("create schema marts")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(400)],
            "customer_key": [f"c_{i % 200:012x}" for i in range(400)],
            "channel": "online",
            "currency": ["GBP" if i % 2 else "EUR" for i in range(400)],
            "net_amount_reporting": [40.0 + (i * 7) % 21 for i in range(400)],  # 40..60
            "is_return": False,
        }
    )
    orders.loc[10, "net_amount_reporting"] = 4_999.0  # a EUR order far above its peers
    # One customer with 80 orders, half of them returned, and no web activity.
    hoarder = pd.DataFrame(
        {
            "order_id": [f"h{i}" for i in range(80)],
            "customer_key": "c_hoarder00000",
            "channel": "store",
            "currency": "GBP",
            "net_amount_reporting": 45.0,
            "is_return": [i % 2 == 0 for i in range(80)],
        }
    )
    fct_orders = pd.concat([orders, hoarder], ignore_index=True)  # noqa: F841 (DuckDB reads it)
    events = pd.DataFrame(  # noqa: F841
        {"event_id": range(2000), "customer_key": [f"c_{i % 200:012x}" for i in range(2000)]}
    )
    con.execute("create table marts.fct_orders as select * from fct_orders")
    con.execute("create table marts.fct_events as select * from events")
    lines = pd.DataFrame(
        {
            "order_line_id": [f"o{i}-1" for i in range(300)],
            "product_id": [f"p{i % 30}" for i in range(300)],
            "currency": "GBP",
            "net_amount_reporting": [(9.0 if i % 30 < 15 else 900.0) + (i % 7) for i in range(300)],
            "is_return": False,
        }
    )
    lines.loc[3, "net_amount_reporting"] = 700.0  # a sock priced like a sofa
    products = pd.DataFrame(  # noqa: F841
        {
            "product_id": [f"p{i}" for i in range(30)],
            "category": ["socks" if i < 15 else "sofas" for i in range(30)],
        }
    )
    con.execute("create table marts.fct_order_lines as select * from lines")
    con.execute("create table marts.dim_products as select * from products")
    yield con
    con.close()


def test_planted_order_amount_is_flagged_by_both_methods(marts) -> None:
    found = detect_outliers(marts)
    orders = found[found["entity"] == "order"]
    assert set(orders["entity_id"]) == {"o10"}
    assert set(orders["method"]) == {"robust_z", "iqr"}
    reason = orders.loc[orders["method"] == "robust_z", "reason"].iloc[0]
    assert "4999.00" in reason and "EUR online peers" in reason


def test_order_lines_are_judged_against_their_category(marts) -> None:
    found = detect_outliers(marts)
    lines = found[found["entity"] == "order_line"]
    assert set(lines["entity_id"]) == {"o3-1"}  # 700 is normal for a sofa, not for socks
    assert "GBP socks peers" in lines["reason"].iloc[0]


def test_planted_customer_is_isolated_with_a_reason(marts) -> None:
    found = detect_outliers(marts)
    customers = found[found["entity"] == "customer"]
    assert customers.iloc[0]["entity_id"] == "c_hoarder00000"  # the most anomalous
    assert customers.iloc[0]["method"] == "isolation_forest"
    assert "orders=40" in customers.iloc[0]["reason"] or "returns=40" in customers.iloc[0]["reason"]
    assert len(customers) <= 0.02 * 201 + 1


def test_outliers_are_flagged_never_dropped(marts) -> None:
    before = marts.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    written = write_outliers(marts, detect_outliers(marts))
    after = marts.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    assert before == after == 480
    assert marts.execute("select count(*) from dq.dq_outliers").fetchall()[0][0] == written
    write_outliers(marts, detect_outliers(marts))  # a re-run replaces, does not pile up
    assert marts.execute("select count(*) from dq.dq_outliers").fetchall()[0][0] == written


def test_isolation_forest_needs_enough_customers() -> None:
    rng = np.random.default_rng(0)
    few = pd.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(10)],
            "orders": rng.integers(1, 5, 10),
            "spend": rng.normal(100, 10, 10),
            "events": rng.integers(0, 50, 10),
            "returns": 0,
        }
    )
    assert isolation_forest_flags(few).empty

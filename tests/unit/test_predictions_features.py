"""Point-in-time features: nothing at or after the cutoff moves a feature (leakage test)."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest

from python_models.predictions.features import CHURN_FEATURES, feature_sql, outcome_sql
from tests.support.prediction_tables import (
    SOURCES,
    add_consent,
    add_customer,
    add_event,
    add_order,
    add_ticket,
    create_tables,
)

T = datetime(2026, 6, 1)
SQL_FEATURES = [f for f in CHURN_FEATURES if f != "bgnbd_expected_purchases"]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_tables(con)
    con.execute("insert into t.products values ('p1', 'books'), ('p2', 'garden')")
    add_customer(con, "a", "a@example.com")
    add_customer(con, "b", "b@example.com")
    add_customer(con, "never", "n@example.com")
    for k, days in enumerate((400, 200, 100, 40, 10)):
        add_order(con, f"a{k}", "a", T - timedelta(days=days), 50 + k, product_id=f"p{1 + k % 2}")
    add_order(con, "b0", "b", T - timedelta(days=300), 80)
    add_order(con, "b1", "b", T - timedelta(days=250), 20, status="returned", is_return=True)
    add_event(con, "a", "s1", "product_view", T - timedelta(days=5))
    add_event(con, "a", None, "email_open", T - timedelta(days=20))
    add_event(con, "never", "s9", "page_view", T - timedelta(days=60))
    add_ticket(con, "t1", "b", T - timedelta(days=30), 1)
    add_consent(con, "a@example.com", True, T - timedelta(days=500))
    return con


def features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return (
        con.sql(feature_sql(SOURCES, [T]) + " order by customer_key").df().set_index("customer_key")
    )


def add_future_rows(con: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """Activity of every kind, for every customer, at `at`."""
    for key in ("a", "b", "never"):
        add_order(con, f"late-{key}-{at:%j%H%M%S}", key, at, 999, product_id="p2")
        add_event(con, key, f"late-{key}", "product_view", at)
        add_event(con, key, None, "email_click", at)
        add_ticket(con, f"late-t-{key}-{at:%j%H%M%S}", key, at, 5)
    add_consent(con, "a@example.com", False, at)
    add_consent(con, "b@example.com", True, at)


def test_rows_at_or_after_the_cutoff_change_no_feature(con) -> None:
    before = features(con)
    add_future_rows(con, T)  # exactly at T counts as "after": the cutoff is exclusive
    add_future_rows(con, T + timedelta(days=3))
    after = features(con)
    pd.testing.assert_frame_equal(before, after)


def test_the_same_rows_just_before_the_cutoff_do_change_features(con) -> None:
    """The leakage test above can fail: the same additions a second earlier show up."""
    before = features(con)
    add_future_rows(con, T - timedelta(seconds=1))
    after = features(con)
    changed = [f for f in SQL_FEATURES if not before[f].equals(after[f])]
    for feature in (
        "frequency",
        "recency_days",
        "sessions_30d",
        "email_clicks_90d",
        "tickets_365d",
        "email_marketing_consent",
    ):
        assert feature in changed


def test_features_are_what_the_history_says(con) -> None:
    f = features(con)
    a, b, never = f.loc["a"], f.loc["b"], f.loc["never"]
    assert (a.frequency, a.recency_days, a.purchases_30d, a.purchases_90d) == (5, 10, 1, 2)
    assert a.purchases_365d == 4 and a.bg_frequency == 4 and a.bg_age == 400
    assert a.email_marketing_consent == 1 and a.email_opens_90d == 1 and a.categories_bought == 2
    assert b.returns_365d == 1 and b.low_satisfaction_tickets == 1 and b.avg_satisfaction == 1
    assert not never.has_purchase and never.frequency == 0 and never.tenure_days == 60
    assert not f[SQL_FEATURES].isna().any().any()


def test_labels_read_only_the_horizon_after_the_cutoff(con) -> None:
    add_order(con, "a-soon", "a", T + timedelta(days=89), 10)
    add_order(con, "b-late", "b", T + timedelta(days=90), 10)
    labels = con.sql(outcome_sql(SOURCES, [T], 90)).df().set_index("customer_key")
    assert not labels.loc["a", "churned"] and labels.loc["a", "future_purchases"] == 1
    assert labels.loc["b", "churned"]  # day 90 is outside a 90-day horizon
    assert labels.loc["never", "churned"]

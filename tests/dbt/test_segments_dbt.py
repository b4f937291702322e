"""Segments end to end in dbt: RFM, rule segments, lifecycle and membership history.

Builds a throw-away copy of the segment part of the dbt project in a temporary directory,
with the core marts (`dim_customers`, `fct_orders`, `fct_events`) replaced by views over
small fixture tables, so the test depends on nothing but the segment models. The first
`dbt build` also runs every dbt unit test of the segment models (RFM boundaries, rule
windows, lifecycle); the later runs simulate a daily schedule with three `as_of` values.
"""

import os
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from python_models.benchmarks.segment_sandbox import DbtSession, copy_segment_project

T1, T2, T3 = "2026-10-01T00:00:00", "2026-10-15T00:00:00", "2026-11-01T00:00:00"

FIXTURE_SQL = """
create schema fixtures;
create table fixtures.dim_customers (
    customer_key varchar, country varchar, birth_date date, first_seen_at timestamp,
    consent_email_marketing boolean, consent_personalization boolean,
    consent_analytics boolean
);
insert into fixtures.dim_customers values
    ('cart_t1', 'GB', '1990-05-01', '2026-01-01', true, true, true),
    ('cart_t3', 'GB', '1985-01-01', '2026-01-01', false, true, true),
    ('first_buyer', 'FR', '2000-12-31', '2026-09-01', true, false, false),
    ('late_joiner', 'DE', null, '2026-10-20', false, false, false),
    ('steady', 'GB', '1970-07-07', '2025-01-01', true, true, true);
alter table fixtures.dim_customers add column cluster_id integer;
create table fixtures.fct_orders (
    order_id varchar, customer_key varchar, channel varchar, ordered_at timestamp,
    status varchar, net_amount_reporting decimal(18, 2), is_return boolean
);
insert into fixtures.fct_orders values
    ('o1', 'first_buyer', 'online', '2026-10-10 09:00:00', 'completed', 40.00, false),
    ('o2', 'steady', 'store', '2026-03-01 12:00:00', 'completed', 120.00, false),
    ('o3', 'steady', 'online', '2026-05-01 12:00:00', 'completed', 80.00, false),
    ('o4', 'steady', 'store', '2026-09-01 12:00:00', 'completed', 60.00, false);
create table fixtures.fct_events (
    event_id varchar, customer_key varchar, anonymous_id varchar, session_id varchar,
    event_name varchar, occurred_at timestamp, product_id varchar, category varchar,
    price decimal(18, 2), quantity integer, cart_value decimal(18, 2), dwell_seconds integer
);
insert into fixtures.fct_events values
    ('e1', 'cart_t1', null, 's1', 'add_to_cart', '2026-09-30 12:00:00', 'p1', null, null,
        1, 80.00, null),
    ('e2', 'cart_t3', null, 's2', 'add_to_cart', '2026-10-31 20:00:00', 'p2', null, null,
        1, 60.00, null);
"""

Rows = list[tuple]


def snapshot(warehouse: Path) -> dict[str, Rows]:
    """Everything a run leaves behind that a user would look at, in a stable order."""
    tables = {
        "history": "select customer_key, segment, entered_at, exited_at "
        "from marts.segment_membership_history",
        "membership": "select customer_key, segment, segment_type, since "
        "from marts.segment_membership",
        "summary": "select as_of, segment, members, entries, exits from marts.segment_summary",
        "overlap": "select segment_a, segment_b, shared_customers, segment_a_type, segment_b_type "
        "from marts.segment_overlap",
        "rfm": "select customer_key, frequency, r_score, rfm_segment, customer_state "
        "from marts.customer_rfm",
    }
    # Not read-only: the in-process dbt-duckdb adapter may still hold the file open, and DuckDB
    # only shares a file between connections of one process opened with the same settings.
    with duckdb.connect(str(warehouse)) as connection:
        return {
            name: connection.sql(f"{sql} order by all").fetchall() for name, sql in tables.items()
        }


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Rows]]:
    """A simulated schedule: T1, T2, T3, T3 again, a back-fill of T2, then T3 replayed."""
    root = tmp_path_factory.mktemp("segments_dbt")
    project = root / "dbt_project"
    copy_segment_project(project)
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(FIXTURE_SQL)
    previous = os.environ.get("CUSTOMER360_WAREHOUSE")
    os.environ["CUSTOMER360_WAREHOUSE"] = str(warehouse)
    try:
        dbt = DbtSession(project)
        results = {}
        # `build` runs the seeds, every dbt unit test and data test of the segment models.
        dbt.invoke("build", T1)
        results["t1"] = snapshot(warehouse)
        for label, as_of in [("t2", T2), ("t3", T3), ("t3_again", T3), ("t2_backfill", T2)]:
            dbt.invoke("run", as_of)
            results[label] = snapshot(warehouse)
        dbt.invoke("build", T3)
        results["t3_replayed"] = snapshot(warehouse)
        return results
    finally:
        if previous is None:
            os.environ.pop("CUSTOMER360_WAREHOUSE", None)
        else:
            os.environ["CUSTOMER360_WAREHOUSE"] = previous


def spells(rows: Rows, customer_key: str) -> set[tuple]:
    return {
        (segment, entered, exited) for key, segment, entered, exited in rows if key == customer_key
    }


def test_history_records_when_customers_entered_and_left_segments(runs):
    history = runs["t3"]["history"]
    assert ("high_purchase_intent", ts(T1), ts(T2)) in spells(history, "cart_t1")
    assert ("high_purchase_intent", ts(T3), None) in spells(history, "cart_t3")
    assert spells(history, "first_buyer") >= {
        ("browser", ts(T1), ts(T2)),
        ("active_buyer", ts(T2), None),
        ("new_customers", ts(T2), None),
    }
    # never having bought is the lifecycle stage "browser", not a second, identical segment
    assert not any(segment == "no_purchases" for _, segment, _, _ in history)
    assert ("loyal_customer", ts(T1), None) in spells(history, "steady")


def test_customers_first_seen_after_as_of_are_not_members_yet(runs):
    assert not spells(runs["t2"]["history"], "late_joiner")
    assert spells(runs["t3"]["history"], "late_joiner") == {
        ("browser", ts(T3), None),
    }


def test_membership_is_current_state_with_start_of_current_spell(runs):
    membership = {(key, segment): since for key, segment, _, since in runs["t3"]["membership"]}
    assert membership[("first_buyer", "active_buyer")] == ts(T2)
    assert membership[("cart_t3", "high_purchase_intent")] == ts(T3)
    assert ("cart_t1", "high_purchase_intent") not in membership
    assert ("first_buyer", "browser") not in membership

    # Every customer has exactly one lifecycle stage; everyone who has bought, one RFM segment.
    def members(segment_type: str) -> list[str]:
        return sorted(k for k, _, kind, _ in runs["t3"]["membership"] if kind == segment_type)

    assert members("lifecycle") == ["cart_t1", "cart_t3", "first_buyer", "late_joiner", "steady"]
    assert members("rfm") == ["first_buyer", "steady"]
    # one naming style: every segment name is snake_case
    assert all(s == s.lower() and " " not in s for _, s, _, _ in runs["t3"]["membership"])


def test_summary_counts_members_entries_and_exits_per_run(runs):
    summary = {(as_of, segment): rest for as_of, segment, *rest in runs["t3"]["summary"]}
    assert summary[(ts(T1), "high_purchase_intent")] == [1, 1, 0]
    assert summary[(ts(T2), "high_purchase_intent")] == [0, 0, 1]
    assert summary[(ts(T3), "high_purchase_intent")] == [1, 1, 0]
    assert summary[(ts(T2), "browser")] == [2, 0, 1]
    assert summary[(ts(T3), "browser")] == [3, 1, 0]


def test_overlap_counts_customers_shared_by_two_segments(runs):
    overlap = {(a, b): rest for a, b, *rest in runs["t3"]["overlap"]}
    assert overlap[("browser", "high_purchase_intent")] == [1, "lifecycle", "rule"]
    assert all(a < b for a, b in overlap)


def test_rfm_keeps_customers_without_purchases_with_null_scores(runs):
    rfm = {key: rest for key, *rest in runs["t1"]["rfm"]}
    assert set(rfm) == {"cart_t1", "cart_t3", "first_buyer", "steady"}
    assert rfm["cart_t1"] == [0, None, "No Purchases", "never_purchased"]
    assert rfm["steady"][0] == 3 and rfm["steady"][3] == "scored"


def test_rerunning_the_same_as_of_changes_nothing(runs):
    assert runs["t3_again"] == runs["t3"]


def test_backfill_rewinds_history_and_replay_restores_it(runs):
    rewound = runs["t2_backfill"]
    assert rewound["history"] == [
        (key, segment, entered, exited if exited is None or exited <= ts(T2) else None)
        for key, segment, entered, exited in runs["t2"]["history"]
    ]
    assert all(as_of <= ts(T2) for as_of, *_ in rewound["summary"])
    assert runs["t3_replayed"] == runs["t3"]

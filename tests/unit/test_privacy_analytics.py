"""Pseudonymised analytics: PII hashed (and joinable), the PII-tag gate, k-anonymity."""

from pathlib import Path

import duckdb
import pytest

from python_models.privacy.analytics import (
    build_analytics,
    k_anonymous_counts,
    pii_columns,
    pii_violations,
    untagged_pii_names,
)
from python_models.privacy.keys import token

KEY = b"analytics-test-key-0123456789-012345"
DBT_MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"
TAGGED = {"dim_customers": {"primary_email", "phone", "all_emails"}}


@pytest.fixture
def marts() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""
        create table marts.dim_customers as select * from (values
            ('k1', 'ann@example.com', '+442079460958', ['ann@example.com', 'a@x.org'], 'GB', true),
            ('k2', 'bob@example.com', null, ['bob@example.com'], 'DE', false)
        ) as t(customer_key, primary_email, phone, all_emails, country, consent_email_marketing)
    """)
    con.execute("""
        create table marts.fct_orders as select * from (values ('o1', 'k1', 10.5), ('o2', 'k1', 3))
        as t(order_id, customer_key, net_amount)
    """)
    return con


def test_pii_and_person_keys_are_hmac_tokens_that_still_join(marts) -> None:
    built = build_analytics(marts, KEY, TAGGED, marts=("dim_customers", "fct_orders"))
    assert built == {"dim_customers": 2, "fct_orders": 2}
    row = marts.execute(
        "select customer_key, primary_email, phone, all_emails, country "
        "from analytics.dim_customers order by country"
    ).fetchone()
    assert row[0] == token(KEY, "customer_key", "k2")
    assert row[1] == token(KEY, "primary_email", "bob@example.com")
    assert row[2] is None and row[3] == [token(KEY, "all_emails", "bob@example.com")]
    assert row[4] == "DE"  # not personal: kept for counting
    joined = marts.execute(
        "select count(*) from analytics.fct_orders join analytics.dim_customers "
        "using (customer_key) where country = 'GB'"
    ).fetchone()[0]
    assert joined == 2
    assert pii_violations(marts, "analytics", TAGGED) == []
    assert "ann@example.com" not in str(marts.execute("from analytics.dim_customers").fetchall())


def test_the_gate_catches_tagged_unhashed_and_untagged_columns_that_look_like_pii(marts) -> None:
    assert [str(v) for v in pii_violations(marts, "marts", TAGGED)] == [
        "dim_customers.primary_email: tagged PII, not hashed",
        "dim_customers.phone: tagged PII, not hashed",
        "dim_customers.all_emails: tagged PII, not hashed",
    ]
    marts.execute("alter table marts.dim_customers add column notes varchar")
    marts.execute("alter table marts.dim_customers add column ship_city varchar")
    marts.execute("alter table marts.dim_customers add column contact varchar")
    marts.execute(
        "update marts.dim_customers set notes = 'call me on ' || customer_key, "
        "ship_city = 'Leeds', contact = case customer_key when 'k1' then '020 7946 0958' end"
    )
    marts.execute(
        "update marts.dim_customers set notes = 'write to ann@example.com' "
        "where customer_key = 'k1'"
    )
    build_analytics(marts, KEY, TAGGED, marts=("dim_customers",))
    assert [str(v) for v in pii_violations(marts, "analytics", TAGGED)] == [
        "dim_customers.notes: 1 values look like emails",
        "dim_customers.ship_city: name looks like PII, untagged",
        "dim_customers.contact: 1 values look like phones",
    ]


def test_every_mart_column_named_like_pii_is_tagged_in_the_dbt_yml() -> None:
    tagged = pii_columns(DBT_MODELS)
    assert {"primary_email", "phone", "birth_date"} <= tagged["dim_customers"]
    assert untagged_pii_names(DBT_MODELS) == []


def test_k_anonymity_suppresses_groups_of_fewer_than_k_distinct_customers() -> None:
    con = duckdb.connect()
    # GB: 5 customers; DE: one customer with 40 events (many rows, one person); FR: 4.
    con.execute("""
        create table events as
        select 'GB' as country, 'c' || i as customer_key from range(5) as t(i)
        union all select 'DE', 'd0' from range(40)
        union all select 'FR', 'f' || i from range(4) as t(i)
    """)
    kept, suppressed = k_anonymous_counts(con, "events", ["country"])
    assert kept == [("GB", 5, 5)] and suppressed == 2
    kept, suppressed = k_anonymous_counts(con, "events", ["country"], k=4)
    assert [g[0] for g in kept] == ["FR", "GB"] and suppressed == 1
    with pytest.raises(ValueError, match="at least 2"):
        k_anonymous_counts(con, "events", ["country"], k=1)

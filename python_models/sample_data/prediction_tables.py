"""The tables the prediction models read, generated at any scale in DuckDB SQL (benchmarks).

Building a 1M-customer warehouse through extract, dbt and identity takes far longer than
the prediction stage itself, so the predictions benchmark can instead generate the keyed
facts it reads (`FeatureSources` shapes) straight into a DuckDB file: customers with their
own purchase rate and a churn date for some, orders and lines over three years, product
views and carts that follow a favourite category, tickets and consent. Randomness is a
hash of (customer, salt, seed), so the same arguments give the same tables at any thread
count.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from python_models.predictions.features import FeatureSources

SCHEMA = "bench"
SOURCES = FeatureSources.in_schema(SCHEMA)
CONSENT_TABLE = f"{SCHEMA}.consent_current"
CATEGORIES = ("apparel", "footwear", "home", "electronics", "beauty", "outdoor", "kids", "toys")


def _u(expr: str, salt: int, seed: int) -> str:
    """A uniform [0, 1) from a hash of `expr`, a salt and the seed."""
    return f"((hash({expr}, {salt}, {seed}) % 1000000007) / 1000000007.0)"


def generate_prediction_tables(
    con: duckdb.DuckDBPyConnection,
    customers: int,
    *,
    as_of: datetime = datetime(2026, 11, 1),
    seed: int = 7,
    products_per_category: int = 60,
    history_days: int = 3 * 365,
) -> dict[str, int]:
    """Create every SOURCES table in schema `bench`; return the row count of each."""
    n_products = products_per_category * len(CATEGORIES)
    start = f"timestamp '{as_of:%Y-%m-%d %H:%M:%S}' - to_days({history_days})"
    categories = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(
        f"""
        create or replace table {SCHEMA}.people as
        select
            i,
            'c_' || lpad(i::varchar, 10, '0') as customer_key,
            -- purchases per year: a gamma-like spread around a profile mean
            (0.5 + 7.5 * pow({_u("i", 1, seed)}, 2.0)) as rate_per_year,
            {_u("i", 2, seed)} * {history_days} * 0.8 as start_day,
            case when {_u("i", 3, seed)} < 0.35
                 then {_u("i", 4, seed)} * {history_days} end as churn_day,
            floor({_u("i", 5, seed)} * {len(CATEGORIES)})::integer as favourite,
            10 + 150 * {_u("i", 6, seed)} as spend_level
        from range({int(customers)}) as t(i)
        """
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.identity_graph as
        select 'crm' as source_system, 'crm-' || i as source_record_id, customer_key
        from {SCHEMA}.people
        """
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.person_records as
        select customer_key, 'person' || i || '@example.com' as email from {SCHEMA}.people
        """
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.products as
        select 'p' || lpad(k::varchar, 5, '0') as product_id,
               'Product ' || k as product_name,
               {categories}[1 + k % {len(CATEGORIES)}] as category,
               [{categories}[1 + k % {len(CATEGORIES)}], case when k % 3 = 0 then 'premium'
                else 'basic' end] as tags
        from range({n_products}) as t(k)
        """
    )
    # orders: a number of slots per customer, each an order day spread over their lifetime
    con.execute(
        f"""
        create or replace table {SCHEMA}.orders as
        with lifetimes as (
            select *, coalesce(churn_day, {history_days}) - start_day as active_days
            from {SCHEMA}.people
        ),
        slots as (
            select p.*, s.k
            from lifetimes as p,
                 range(greatest(1, round(p.rate_per_year * p.active_days / 365)::integer)) as s(k)
            where p.active_days > 0
        )
        select
            'o' || i || '-' || k as order_id,
            customer_key,
            case when {_u("i || '-' || k", 7, seed)} < 0.6 then 'online' else 'store' end
                as channel,
            {start} + to_seconds(cast(86400 * (start_day + (coalesce(churn_day, {history_days})
                - start_day) * {_u("i || '-' || k", 8, seed)}) as bigint)) as ordered_at,
            case when {_u("i || '-' || k", 9, seed)} < 0.04 then 'returned'
                 when {_u("i || '-' || k", 9, seed)} < 0.07 then 'cancelled'
                 else 'completed' end as status,
            {_u("i || '-' || k", 9, seed)} < 0.04 as is_return,
            round(spend_level * (0.5 + {_u("i || '-' || k", 10, seed)}), 2)::decimal(18, 2)
                as net_amount_reporting,
            favourite,
            i,
            k
        from slots
        """
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.order_lines as
        select
            o.order_id, o.channel, o.customer_key, o.ordered_at, o.status, o.is_return,
            'p' || lpad((case when {_u("o.order_id || l", 11, seed)} < 0.7
                then o.favourite + {len(CATEGORIES)} * floor({_u("o.order_id || l", 12, seed)}
                    * {products_per_category})
                else floor({_u("o.order_id || l", 13, seed)} * {n_products}) end)::integer
                ::varchar, 5, '0') as product_id,
            round(o.net_amount_reporting / 2, 2)::decimal(18, 2) as net_amount_reporting
        from {SCHEMA}.orders as o, range(2) as t(l)
        """
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.events as
        select
            l.customer_key,
            'sess-' || l.order_id as session_id,
            case when e = 0 then 'add_to_cart' else 'product_view' end as event_name,
            l.ordered_at - to_minutes(5 + e) as occurred_at,
            l.product_id
        from {SCHEMA}.order_lines as l, range(2) as t(e)
        where l.channel = 'online'
        union all
        select customer_key, 'mail-' || order_id, 'email_open', ordered_at - to_days(3), null
        from {SCHEMA}.orders where {_u("order_id", 14, seed)} < 0.5
        """
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.tickets as
        select 't' || order_id as ticket_id, ordered_at + to_days(2) as opened_at,
               1 + floor({_u("order_id", 15, seed)} * 5)::integer as satisfaction_score,
               customer_key
        from {SCHEMA}.orders where {_u("order_id", 16, seed)} < 0.05
        """
    )
    con.execute(
        f"insert into {SCHEMA}.identity_graph "
        f"select 'support', ticket_id, customer_key from {SCHEMA}.tickets"
    )
    con.execute(
        f"""
        create or replace table {SCHEMA}.consent_events as
        select 'email' as identifier_type, email as identifier_match_key,
               'email_marketing' as purpose, {_u("email", 17, seed)} < 0.6 as is_granted,
               {start} as occurred_at
        from {SCHEMA}.person_records
        """
    )
    con.execute(
        f"""
        create or replace table {CONSENT_TABLE} as
        select customer_key, {_u("customer_key", 18, seed)} < 0.7 as consent_personalization,
               {_u("customer_key", 19, seed)} < 0.8 as consent_analytics
        from {SCHEMA}.people
        """
    )
    tables = ("people", "orders", "order_lines", "events", "tickets", "products")
    return {
        t: int(con.execute(f"select count(*) from {SCHEMA}.{t}").fetchall()[0][0]) for t in tables
    }

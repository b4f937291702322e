"""Benchmark: build every segment model on synthetic data of a given size, in a sandbox.

    python -m python_models.benchmarks.segments --customers 1000000

Generates `dim_customers`, `fct_orders` and `fct_events` stand-ins in a temporary DuckDB file
(DuckDB SQL, no pandas), builds the segment models for one `as_of`, then a second, next-day
run (the incremental history path), and prints wall time per run and the slowest models.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from orchestration.settings import get_settings
from python_models.benchmarks.segment_sandbox import DbtSession, copy_segment_project
from python_models.warehouse import connect

AS_OF = "2026-11-01T00:00:00"
NEXT_DAY = "2026-11-02T00:00:00"

SYNTHETIC_DATA_SQL = """
create schema fixtures;
create table fixtures.dim_customers as
select
    'c_' || lpad(printf('%x', i), 12, '0') as customer_key,
    (['GB', 'FR', 'DE', 'US', 'IE'])[1 + i % 5] as country,
    date '1950-01-01' + cast(i % 20000 as integer) as birth_date,
    timestamp '{as_of}' - to_days(cast(1 + i % 1500 as integer)) as first_seen_at,
    i % 3 = 0 as consent_email_marketing,
    i % 2 = 0 as consent_personalization,
    i % 4 <> 0 as consent_analytics
from range({customers}) as t(i);

create table fixtures.fct_orders as
select
    'o_' || i as order_id,
    'c_' || lpad(printf('%x', cast(floor(random() * {customers}) as bigint)), 12, '0')
        as customer_key,
    case when random() < 0.6 then 'online' else 'store' end as channel,
    timestamp '{as_of}' - to_seconds(cast(floor(random() * 730 * 86400) as bigint))
        as ordered_at,
    case when random() < 0.9 then 'completed' when random() < 0.5 then 'cancelled'
        else 'returned' end as status,
    cast(round(5 + random() * 250, 2) as decimal(18, 2)) as net_amount_reporting,
    random() < 0.03 as is_return
from range({orders}) as t(i);

create table fixtures.fct_events as
with raw_events as (
    select
        i,
        cast(floor(random() * {customers}) as bigint) as customer_number,
        (['page_view', 'product_view', 'product_view', 'search', 'add_to_cart',
          'remove_from_cart', 'checkout_start', 'purchase', 'email_open', 'login'])
            [1 + cast(floor(random() * 10) as integer)] as event_name,
        timestamp '{as_of}' - to_seconds(cast(floor(random() * 30 * 86400) as bigint))
            as occurred_at
    from range({events}) as t(i)
)
select
    'e_' || i as event_id,
    'c_' || lpad(printf('%x', customer_number), 12, '0') as customer_key,
    null::varchar as anonymous_id,
    'c' || customer_number || '_s'
        || cast(date_diff('hour', timestamp '2026-09-01', occurred_at) // 2 as bigint)
        as session_id,
    event_name,
    occurred_at,
    'p_' || cast(floor(random() * 500) as integer) as product_id,
    null::varchar as category,
    null::decimal(18, 2) as price,
    1 as quantity,
    case when event_name = 'add_to_cart'
        then cast(round(random() * 150, 2) as decimal(18, 2)) end as cart_value,
    cast(random() * 300 as integer) as dwell_seconds
from raw_events;
"""


def generate(warehouse: Path, customers: int, orders: int, events: int) -> None:
    with connect(warehouse, memory_limit=get_settings().duckdb_memory_limit) as connection:
        connection.execute(
            SYNTHETIC_DATA_SQL.format(
                as_of=AS_OF, customers=customers, orders=orders, events=events
            )
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m python_models.benchmarks.segments")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--events-per-customer", type=float, default=10.0)
    arguments = parser.parse_args(argv)
    customers = arguments.customers
    orders = int(customers * arguments.orders_per_customer)
    events = int(customers * arguments.events_per_customer)

    with tempfile.TemporaryDirectory(prefix="segments_bench_") as directory:
        root = Path(directory)
        warehouse = root / "warehouse.duckdb"
        started = time.perf_counter()
        generate(warehouse, customers, orders, events)
        print(
            f"data: {customers:,} customers, {orders:,} orders, {events:,} events "
            f"generated in {time.perf_counter() - started:.1f}s"
        )
        project = root / "dbt_project"
        copy_segment_project(project)
        os.environ["CUSTOMER360_WAREHOUSE"] = str(warehouse)
        session = DbtSession(project)
        session.invoke("seed", AS_OF)
        for label, as_of in [("first run", AS_OF), ("next-day run", NEXT_DAY)]:
            started = time.perf_counter()
            results = session.invoke("run", as_of)
            elapsed = time.perf_counter() - started
            print(f"{label} (as_of {as_of}): all segment models in {elapsed:.1f}s")
            slowest = sorted(results, key=lambda item: item[1], reverse=True)[:6]
            print("  slowest: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in slowest))
        with connect(warehouse, memory_limit=get_settings().duckdb_memory_limit) as connection:
            counts = connection.sql(
                "select segment_type, count(distinct segment), count(*) "
                "from marts.segment_membership group by all order by 1"
            ).fetchall()
        for segment_type, segments, members in counts:
            print(f"  {segment_type}: {segments} segments, {members:,} memberships")


if __name__ == "__main__":
    main()

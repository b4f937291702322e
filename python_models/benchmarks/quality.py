"""Time `quarantine_load` and `evaluate_load` on a synthetic load of N shop orders (~1% bad).

python -m python_models.benchmarks.quality --rows 1000000 [--warehouse /tmp/bench.duckdb]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from orchestration.settings import get_settings
from python_models.contract import raw_table
from python_models.extract.loader import ensure_tables
from python_models.quality.evaluate import evaluate_load
from python_models.quality.quarantine import quarantine_load
from python_models.warehouse import connect

SYNTHETIC_ORDERS_SQL = """
insert into raw.shop_orders by name
select
    case when i % 1000 = 7 then null else 'o' || i end as order_id,
    'u' || (i % 50000) as user_id,
    'c' || (i % 40000) as crm_id,
    case when i % 500 = 3 then 'broken-at-example' else 'p' || (i % 40000) || '@example.com' end
        as customer_email,
    'Ann' as first_name, 'Lee' as last_name, '+44 20 7946 ' || lpad((i % 10000)::varchar, 4, '0')
        as phone,
    '1 High St' as ship_street, 'London' as ship_city, 'SW1A 1AA' as ship_postcode,
    'GB' as ship_country,
    strftime(timestamp '2025-01-01' + to_seconds(i * 17 % 50000000), '%Y-%m-%dT%H:%M:%SZ')
        as ordered_at,
    case when i % 997 = 5 then 'lost' else 'completed' end as status,
    case when i % 3 = 0 then 'EUR' else 'GBP' end as currency,
    case when i % 1500 = 11 then '-4.95' else '4.95' end as shipping_amount,
    ? as _load_id, 'shop/orders_bench.csv' as _source_file, i as _row_number,
    timestamp '2026-11-01' as _loaded_at, null::json as _extra
from range(1, ? + 1) as t(i)
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--warehouse", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.warehouse or Path(tmp) / "bench.duckdb"
        con = connect(path, memory_limit=get_settings().duckdb_memory_limit)
        ensure_tables(con, [raw_table("shop_orders")])  # raw.shop_orders as the extract makes it
        con.execute(SYNTHETIC_ORDERS_SQL, ["bench-1", args.rows])
        started, cpu = time.perf_counter(), time.process_time()
        quarantined = quarantine_load(con, "shop_orders", "bench-1")
        quarantine_seconds = time.perf_counter() - started
        quarantine_cpu = time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        results = evaluate_load(con, "shop_orders", "bench-1")
        evaluate_seconds = time.perf_counter() - started
        evaluate_cpu = time.process_time() - cpu
        con.close()
    print(
        f"rows={args.rows} quarantined={quarantined} "
        f"quarantine_load={quarantine_seconds:.2f}s wall / {quarantine_cpu:.2f}s cpu, "
        f"evaluate_load({len(results)} rules)={evaluate_seconds:.2f}s wall / "
        f"{evaluate_cpu:.2f}s cpu"
    )


if __name__ == "__main__":
    main()

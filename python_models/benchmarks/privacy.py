"""Erasure and verification timings on a built warehouse (a copy; the original is untouched).

    python -m python_models.benchmarks.privacy --warehouse bench_out/10000/warehouse.duckdb \
        --people 1000

Picks `--people` customers with an email from `marts.dim_customers`, erases them in one
batch (`python_models.privacy.erasure.erase`), then verifies one of them
(`verify_erasure`), and prints rows, seconds and peak memory. The issue's budget: 1,000
people from a 1M-customer warehouse in 2 minutes, one verification in 30 s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from python_models.benchmarks.memory import PeakMemory, cpu_seconds
from python_models.privacy.erasure import erase
from python_models.privacy.requests import make_request
from python_models.privacy.verify import verify_erasure
from python_models.warehouse import connect

BENCH_KEY = b"benchmark-key-not-secret-0123456789"


def pick_people(con: duckdb.DuckDBPyConnection, people: int) -> tuple[list[str], str]:
    """`people` emails of customers, spread by hash; from the CRM when the warehouse has
    only its raw layers (a build stopped after the extract), and says which."""
    built = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'dim_customers'"
    ).fetchone()[0]
    if built:
        customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
        query = (
            "select primary_email from marts.dim_customers where primary_email is not null "
            "order by hash(customer_key) limit ?"
        )
        layers = f"{customers:,} customers, every layer"
    else:
        contacts = con.execute("select count(*) from raw.crm_contacts").fetchone()[0]
        query = (
            "select email from raw.crm_contacts where email like '%@%.%' "
            "order by hash(crm_id) limit ?"
        )
        layers = f"raw and quarantine only, {contacts:,} CRM contacts"
    return [r[0] for r in con.execute(query, [people]).fetchall()], layers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="erase in --warehouse itself (a copy you made; a 1M copy takes a minute)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        copy = args.warehouse if args.in_place else Path(work) / "warehouse.duckdb"
        if not args.in_place:
            shutil.copy(args.warehouse, copy)
        con = connect(copy, memory_limit=args.memory_limit)
        people, layers = pick_people(con, args.people)
        requests = []
        for email in people:
            try:  # a raw CRM address may be one of the generator's deliberately invalid ones
                requests.append(make_request(f"BENCH-{len(requests)}", "email", email))
            except ValueError:
                continue
        with PeakMemory() as memory:
            started, cpu = time.perf_counter(), cpu_seconds()
            results = erase(con, requests, key=BENCH_KEY, run_id="bench")
            erase_seconds, erase_cpu = time.perf_counter() - started, cpu_seconds() - cpu
        rows = sum(r.rows for r in results)
        erased = sum(len(r.customer_keys) for r in results)
        started, cpu = time.perf_counter(), cpu_seconds()
        report = verify_erasure(con, requests[:1], key=BENCH_KEY)
        verify_seconds, verify_cpu = time.perf_counter() - started, cpu_seconds() - cpu
        con.close()
    print(
        f"warehouse: {args.warehouse} ({layers})\n"
        f"erase {len(requests):,} requests -> {erased:,} customers, {rows:,} rows: "
        f"{erase_seconds:.1f} s ({erase_cpu:.1f} CPU s), peak {memory.peak_mb:,.0f} MB\n"
        f"verify one request: {verify_seconds:.1f} s ({verify_cpu:.1f} CPU s) over "
        f"{report.columns_scanned} text columns in {report.tables_scanned} tables "
        f"({report.columns_skipped} skipped by their statistics): "
        f"{'clean' if report.clean else 'TRACE'}"
    )
    return 0 if report.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())

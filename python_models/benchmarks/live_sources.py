"""Live sources benchmark: orders out of PostgreSQL and contacts out of the CRM API.

    python -m python_models.benchmarks.live_sources --orders 1000000 --contacts 100000

PostgreSQL: a throwaway server gets the sample's orders and lines replicated (new ids) up to
`--orders`; the shop extract runs initial, then again after 1 % of the orders changed
(status updates, so `updated_at` moves). API: the local CRM API (in its own process) serves
`--contacts` contacts made from the sample's, answering 1 % of requests 429 (Retry-After 1s)
and 0.5 % 500; the extract runs initial, then after 1 % of the contacts changed. Prints rows,
seconds, rows/s and the extracting process's peak RSS for each run. Run it under the heavy
lock on a shared machine (`flock /tmp/c360-heavy.lock nice -n 5 make bench-live`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from python_models.benchmarks.memory import PeakMemory, cpu_seconds

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"
TOKEN = "bench-token"


def _replicate_shop(url: str, orders: int) -> tuple[int, int]:
    """Grow the seeded shop to `orders` orders by copying them under new ids."""
    import psycopg

    with psycopg.connect(url) as pg:
        base = pg.execute("select count(*) from shop.orders").fetchone()[0]
        copies = max(0, -(-orders // base) - 1)
        pg.execute("alter table shop.orders disable trigger orders_touch")
        pg.execute("create temp table copies as select k from generate_series(1, %s) k", [copies])
        pg.execute(
            "insert into shop.orders select o.id || '-' || k, customer_id, crm_id, email, "
            "first_name, last_name, phone, ship_street, ship_city, ship_postcode, ship_country, "
            "ordered_at, status, currency, shipping_amount, created_at, updated_at, deleted_at "
            "from shop.orders o cross join copies"
        )
        pg.execute(
            "delete from shop.orders where id in (select id from shop.orders "
            "order by id desc limit greatest(0, (select count(*) from shop.orders) - %s))",
            [orders],
        )
        pg.execute(
            "insert into shop.order_lines select l.order_id || '-' || k, line_number, "
            "product_id, quantity, unit_price, discount, l.updated_at "
            "from shop.order_lines l cross join copies "
            "where exists (select 1 from shop.orders o where o.id = l.order_id || '-' || k)"
        )
        pg.execute("alter table shop.orders enable trigger orders_touch")
        pg.execute("analyze")
        counts = pg.execute(
            "select (select count(*) from shop.orders), (select count(*) from shop.order_lines)"
        ).fetchone()
    return int(counts[0]), int(counts[1])


def _timed(label: str, work: Callable[[], object]) -> tuple[object, float, float]:
    """(result, wall seconds, peak RSS MB); prints the CPU seconds (the cost on a shared box)."""
    with PeakMemory(include_children=False) as memory:
        started, cpu = time.perf_counter(), cpu_seconds()
        result = work()
        seconds = time.perf_counter() - started
    print(f"  {label}: {cpu_seconds() - cpu:.1f} CPU s in {seconds:.1f} s wall", flush=True)
    return result, seconds, memory.peak / 2**20


def bench_postgres(orders: int, work: Path, backend: str) -> list[str]:
    import psycopg

    from python_models.extract.live.postgres import PostgresExtractConfig, extract_shop_database
    from python_models.sample_data.postgres_server import start_server, stop_server
    from python_models.sample_data.shop_db import seed_shop
    from python_models.warehouse import connect

    lines: list[str] = []
    server = start_server(work / "pg")
    try:
        seed_shop(server.url(), SAMPLE)
        started = time.perf_counter()
        n_orders, n_lines = _replicate_shop(server.url(), orders)
        lines.append(
            f"postgres: {n_orders} orders, {n_lines} lines seeded in "
            f"{time.perf_counter() - started:.0f}s (backend {backend})"
        )
        con = connect(work / "warehouse.duckdb", memory_limit="2GB")
        config = PostgresExtractConfig(database_url=server.url(), backend=backend)  # type: ignore[arg-type]
        for run in ("initial", "no-change", "incremental"):
            if run == "incremental":
                with psycopg.connect(server.url()) as pg:
                    changed = pg.execute(
                        "update shop.orders set status = case status when 'completed' then "
                        "'returned' else 'completed' end where id in (select id from "
                        "shop.orders order by md5(id) limit %s)",
                        [n_orders // 100],
                    ).rowcount
                lines.append(f"postgres: changed {changed} orders (1 %)")
            report, seconds, peak = _timed(run, lambda: extract_shop_database(con, config))
            rows = report.total("rows_read")  # type: ignore[attr-defined]
            loaded = report.total("rows_loaded")  # type: ignore[attr-defined]
            lines.append(
                f"postgres {run}: {rows} rows read, {loaded} loaded in {seconds:.1f}s "
                f"= {rows / seconds:,.0f} rows/s; peak RSS {peak:,.0f} MB; stages "
                + ", ".join(f"{k} {v:.1f}s" for k, v in report.stages.items())  # type: ignore[attr-defined]
            )
        con.close()
    finally:
        stop_server(server, mode="immediate")
    return lines


def _serve_contacts(port: int, contacts: int, ready) -> None:
    import uvicorn

    from python_models.sample_data.crm_api import ContactStore, Faults, build_app

    store = ContactStore.replicated(ContactStore.from_landing_dir(SAMPLE), contacts)
    faults = Faults(rate_limited_share=0.01, error_share=0.005, retry_after_seconds=1)
    app = build_app(store, TOKEN, faults)

    @app.post("/_bench/change")
    def change(share: float = 0.01) -> dict:
        return {"changed": len(store.change(share, seed=11))}

    @app.get("/_bench/stats")
    def stats() -> dict:
        return dict(vars(app.state.stats))

    ready.set()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def bench_api(contacts: int, work: Path) -> list[str]:
    import httpx

    from python_models.extract.live.crm_api import CrmApiConfig, extract_crm_contacts
    from python_models.sample_data.postgres_server import free_port
    from python_models.warehouse import connect

    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve_contacts, args=(port, contacts, ready))
    server.start()
    lines: list[str] = []
    try:
        ready.wait(120)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/_bench/stats", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        con = connect(work / "warehouse_api.duckdb", memory_limit="2GB")
        config = CrmApiConfig(base_url=url, token=TOKEN)
        for run in ("initial", "incremental"):
            if run == "incremental":
                changed = httpx.post(f"{url}/_bench/change", params={"share": 0.01}).json()
                lines.append(f"api: changed {changed['changed']} contacts (1 %)")
            before = httpx.get(f"{url}/_bench/stats").json()
            outcome, seconds, peak = _timed(run, lambda: extract_crm_contacts(con, config))
            after = httpx.get(f"{url}/_bench/stats").json()
            served = {k: after[k] - before[k] for k in ("requests", "rate_limited", "errors")}
            lines.append(
                f"api {run}: {outcome.rows_read} contacts read, {outcome.rows_loaded} loaded "  # type: ignore[attr-defined]
                f"in {seconds:.1f}s = {outcome.rows_read / seconds:,.0f} rows/s; "  # type: ignore[attr-defined]
                f"{served['requests']} requests, {served['rate_limited']} answered 429, "
                f"{served['errors']} answered 500; peak RSS {peak:,.0f} MB"
            )
        con.close()
    finally:
        server.terminate()
        server.join(10)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m python_models.benchmarks.live_sources")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--backend", default="connectorx", choices=("pyarrow", "connectorx"))
    parser.add_argument("--skip", choices=("postgres", "api"), default=None)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="c360-bench-live-"))
    work.chmod(0o755)  # the PostgreSQL server (user postgres) must reach its folder inside
    try:
        lines: list[str] = []
        if args.skip != "postgres":
            lines += bench_postgres(args.orders, work, args.backend)
            print("\n".join(lines), flush=True)
        if args.skip != "api":
            api_lines = bench_api(args.contacts, work)
            print("\n".join(api_lines), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

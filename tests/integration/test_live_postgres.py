"""The shop database extract against a real PostgreSQL 15 server, faults included.

After every scenario the warehouse's current orders (latest raw version per key, not held in
quarantine, not deleted) must equal the source's rows, and `audit.load_audit` must say what
happened.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from python_models.extract.live.landing import LiveSourceError
from python_models.extract.live.postgres import PostgresExtractConfig, extract_shop_database
from python_models.sample_data.postgres_server import free_port, restart_server
from python_models.sample_data.shop_db import ChangeDay, apply_change_day
from python_models.warehouse import connect
from tests.support.postgres import reader_url

CURRENT_ORDERS = """
select order_id, status, coalesce(json_extract_string(_extra, '$.deleted_at'), '') as deleted
from raw.shop_orders
qualify row_number() over (partition by order_id order by _loaded_at desc, _load_id desc) = 1
"""
CURRENT_ACCOUNTS = """
select user_id, email from raw.shop_customers
qualify row_number() over (partition by user_id order by _loaded_at desc, _load_id desc) = 1
    and json_extract_string(_extra, '$.deleted_at') is null
"""
CURRENT_PRODUCTS = """
select product_id, price from raw.catalog_products
qualify row_number() over (partition by product_id order by _loaded_at desc, _load_id desc) = 1
    and json_extract_string(_extra, '$.deleted_at') is null
"""
CURRENT_LINES = """
select order_id, line_number from raw.shop_order_lines
qualify row_number() over (
    partition by order_id, line_number order by _loaded_at desc, _load_id desc) = 1
    and json_extract_string(_extra, '$.deleted_at') is null
"""


@pytest.fixture
def warehouse(tmp_path: Path):
    con = connect(tmp_path / "warehouse.duckdb", memory_limit="1GB")
    yield con
    con.close()


def _config(url: str, **changes) -> PostgresExtractConfig:
    return PostgresExtractConfig(database_url=reader_url(url), **changes)


def source_orders(url: str) -> dict[str, str]:
    """order id -> status of every order that is not (soft) deleted."""
    with psycopg.connect(url) as pg:
        rows = pg.execute("select id, status from shop.orders where deleted_at is null").fetchall()
    return dict(rows)


def warehouse_orders(con) -> dict[str, str]:
    rows = con.execute(f"select order_id, status from ({CURRENT_ORDERS}) where deleted = ''")
    return dict(rows.fetchall())


def assert_equal_to_source(con, url: str) -> None:
    assert warehouse_orders(con) == source_orders(url)
    with psycopg.connect(url) as pg:
        lines = {
            (o, str(n)) for o, n in pg.execute("select order_id, line_number from shop.order_lines")
        }
    assert set(con.execute(CURRENT_LINES).fetchall()) == lines
    with psycopg.connect(url) as pg:
        accounts = dict(pg.execute("select id, email from shop.customers").fetchall())
        products = dict(pg.execute("select id, price::text from shop.products").fetchall())
    assert dict(con.execute(CURRENT_ACCOUNTS).fetchall()) == accounts
    assert dict(con.execute(CURRENT_PRODUCTS).fetchall()) == products
    duplicates = con.execute(
        "select count(*) from (select _load_id, order_id from raw.shop_orders "
        "group by all having count(*) > 1)"
    ).fetchone()[0]
    assert duplicates == 0


def audit(con) -> list[tuple]:
    return con.execute(
        "select raw_table, status, rows_read, rows_loaded, rows_deleted, cursor_before, "
        "cursor_after, notes from audit.load_audit order by loaded_at, raw_table"
    ).fetchall()


def test_initial_extract_equals_source_and_rerun_loads_nothing(warehouse, shop_database):
    first = extract_shop_database(warehouse, _config(shop_database))
    orders = next(t for t in first.tables if t.raw_table == "shop_orders")
    assert orders.rows_loaded == len(source_orders(shop_database)) > 300
    assert orders.cursor_before is None and orders.cursor_after
    assert_equal_to_source(warehouse, shop_database)

    rows_before = warehouse.execute("select count(*) from raw.shop_orders").fetchone()[0]
    again = extract_shop_database(warehouse, _config(shop_database))
    assert [t.raw_table for t in again.tables] == [
        "shop_orders", "shop_order_lines", "shop_customers", "catalog_products",
    ]  # fmt: skip
    assert [t.rows_loaded for t in again.tables] == [0, 0, 0, 0]
    assert warehouse.execute("select count(*) from raw.shop_orders").fetchone()[0] == rows_before
    second = [row for row in audit(warehouse) if row[5] is not None]
    assert {row[5] for row in second} == {row[6] for row in second}  # cursor did not move
    # the extract ran as a read-only user and left its state in the warehouse
    state = warehouse.execute("select count(*) from shop_db._dlt_pipeline_state").fetchone()[0]
    assert state >= 1


def test_change_day_updates_replace_versions_and_deletes_flow(warehouse, shop_database):
    extract_shop_database(warehouse, _config(shop_database))
    apply_change_day(shop_database, ChangeDay(day=1))
    change = apply_change_day(shop_database, ChangeDay(day=2))
    assert change.completed and change.returned and change.soft_deleted and change.hard_deleted
    assert change.customers_changed and change.products_repriced
    report = extract_shop_database(warehouse, _config(shop_database))
    assert_equal_to_source(warehouse, shop_database)
    loaded = {t.raw_table: t.rows_loaded for t in report.tables}
    assert loaded["shop_customers"] >= change.customers_changed
    assert loaded["catalog_products"] >= change.products_repriced
    orders = next(t for t in report.tables if t.raw_table == "shop_orders")
    assert orders.rows_deleted >= change.hard_deleted  # day 1's hard deletes too
    assert orders.cursor_after > orders.cursor_before
    statuses = dict(
        warehouse.execute(f"select order_id, deleted from ({CURRENT_ORDERS})").fetchall()
    )
    with psycopg.connect(shop_database) as pg:
        soft = [r[0] for r in pg.execute("select id from shop.orders where deleted_at is not null")]
    assert soft and all(statuses[o] for o in soft)  # soft deletes are marked, not lost
    # a third run with no changes loads nothing and sees no new deletes
    quiet = extract_shop_database(warehouse, _config(shop_database))
    assert sum(t.rows_loaded + t.rows_deleted for t in quiet.tables) == 0


def test_rows_sharing_the_cursor_timestamp_are_not_skipped(warehouse, shop_database):
    with psycopg.connect(shop_database) as pg:
        pg.execute("update shop.orders set status = 'cancelled' where id in "
                   "(select id from shop.orders order by id limit 3)")  # fmt: skip
    extract_shop_database(warehouse, _config(shop_database, lag_seconds=0))
    with psycopg.connect(shop_database) as pg:
        cursor = pg.execute("select max(updated_at) from shop.orders").fetchone()[0]
        # more rows committed later with exactly the stored cursor's timestamp
        pg.execute(
            "insert into shop.orders (id, email, ordered_at, status, currency, created_at, "
            "updated_at) values ('TIE-1', 'tie1@example.com', %(t)s, 'placed', 'EUR', %(t)s, "
            "%(t)s), ('TIE-2', 'tie2@example.com', %(t)s, 'placed', 'EUR', %(t)s, %(t)s)",
            {"t": cursor},
        )
    report = extract_shop_database(warehouse, _config(shop_database, lag_seconds=0))
    assert next(t for t in report.tables if t.raw_table == "shop_orders").rows_loaded == 2
    assert_equal_to_source(warehouse, shop_database)


def _late_commit(url: str, extract) -> None:
    """A transaction stamps a row, another commits after it, the extract runs, then it commits."""
    late = psycopg.connect(url)
    late.execute("update shop.orders set status = 'returned' where id = "
                 "(select min(id) from shop.orders where status = 'completed')")  # fmt: skip
    time.sleep(0.05)
    with psycopg.connect(url) as pg:
        pg.execute("update shop.orders set status = 'cancelled' where id = "
                   "(select max(id) from shop.orders where status = 'completed')")  # fmt: skip
    extract()
    late.commit()
    late.close()


def test_late_commit_missed_without_lag_and_caught_by_the_lag_window(warehouse, shop_database):
    """Without a lag a late commit is missed (dlt issue 2269); the default lag catches it."""
    no_lag = _config(shop_database, lag_seconds=0)
    extract_shop_database(warehouse, no_lag)
    _late_commit(shop_database, lambda: extract_shop_database(warehouse, no_lag))
    missed = extract_shop_database(warehouse, no_lag)
    assert sum(t.rows_loaded for t in missed.tables) == 0
    assert warehouse_orders(warehouse) != source_orders(shop_database)
    caught = extract_shop_database(warehouse, _config(shop_database))  # lag 10 minutes
    assert next(t for t in caught.tables if t.raw_table == "shop_orders").rows_loaded == 1
    assert_equal_to_source(warehouse, shop_database)


def test_unreachable_server_names_host_and_port(warehouse):
    port = free_port()
    config = PostgresExtractConfig(
        database_url=f"postgresql://shop_reader:s3cret@127.0.0.1:{port}/shop",
        connect_timeout_seconds=2,
    )
    with pytest.raises(LiveSourceError) as failure:
        extract_shop_database(warehouse, config)
    message = str(failure.value)
    assert f"127.0.0.1:{port}" in message and "s3cret" not in message
    assert "CUSTOMER360_SHOP_DATABASE_URL" in message
    assert {row[1] for row in audit(warehouse)} == {"failed"}
    assert warehouse.execute("select count(*) from raw.shop_orders").fetchone()[0] == 0


def test_server_restart_mid_extract_then_rerun_has_no_gaps_or_duplicates(
    warehouse, shop_database, postgres_server
):
    restarted = threading.Event()

    def crash_after_first_chunk(table: str, chunk):
        if table == "orders" and not restarted.is_set():
            restarted.set()
            restart_server(postgres_server, mode="immediate")
        return chunk

    # pyarrow reads through a server-side cursor, chunk by chunk, so the restart lands mid-read;
    # connectorx has fetched a table this small before its first batch is handed on
    config = _config(shop_database, chunk_size=50, backend="pyarrow")
    with pytest.raises(LiveSourceError, match="run the extract again"):
        extract_shop_database(warehouse, config, on_chunk=crash_after_first_chunk)
    assert restarted.is_set()
    assert warehouse.execute("select count(*) from raw.shop_orders").fetchone()[0] == 0
    extract_shop_database(warehouse, config)
    assert_equal_to_source(warehouse, shop_database)
    statuses = [row[1] for row in audit(warehouse)]
    tables = len(config.tables)
    assert statuses == ["failed"] * tables + ["loaded"] * tables


def test_new_column_is_kept_and_type_change_reported(warehouse, shop_database):
    extract_shop_database(warehouse, _config(shop_database))
    with psycopg.connect(shop_database) as pg:
        pg.execute("alter table shop.orders add column gift_message text")
        pg.execute("grant select on all tables in schema shop to shop_reader")
        pg.execute("update shop.orders set gift_message = 'Happy birthday' where id = "
                   "(select min(id) from shop.orders)")  # fmt: skip
        pg.execute("alter table shop.orders alter column shipping_amount type text")
        pg.execute("update shop.orders set shipping_amount = 'free' where id = "
                   "(select max(id) from shop.orders)")  # fmt: skip
    report = extract_shop_database(warehouse, _config(shop_database))
    orders = next(t for t in report.tables if t.raw_table == "shop_orders")
    notes = " | ".join(orders.notes)
    assert "new column orders.gift_message (text) kept in _extra" in notes
    assert "column orders.shipping_amount changed type numeric -> text" in notes
    assert "gift_message" in orders.extra_columns
    gift = warehouse.execute(
        "select json_extract_string(_extra, '$.gift_message') from raw.shop_orders "
        "where _load_id = ? and json_extract_string(_extra, '$.gift_message') is not null",
        [orders.load_id],
    ).fetchall()
    assert gift == [("Happy birthday",)]
    assert "free" in {
        r[0]
        for r in warehouse.execute(
            "select shipping_amount from raw.shop_orders where _load_id = ?", [orders.load_id]
        ).fetchall()
    }
    recorded = next(row for row in audit(warehouse) if row[0] == "shop_orders" and row[7])
    assert any("changed type" in n for n in recorded[7])
    assert_equal_to_source(warehouse, shop_database)


def test_shop_accounts_share_the_sample_truth_and_erasure_tombstones_block_them(
    warehouse, shop_database
):
    """Each account the shop database keeps is the `web_user` the truth already names, the
    person its orders belong to; an erased person's account never reaches raw."""
    import csv

    from python_models.privacy.identifiers import normalise_identifier
    from python_models.privacy.keys import token
    from python_models.privacy.tombstones import ensure_tombstone_table

    truth_file = Path(__file__).resolve().parents[2] / "seeds" / "sample_truth" / "records.csv"
    with truth_file.open(newline="") as handle:
        rows = csv.DictReader(handle)
        truth = {(r["source_system"], r["source_record_id"]): r["person_id"] for r in rows}
    with psycopg.connect(shop_database) as pg:
        accounts = dict(pg.execute("select id, email from shop.customers order by id"))
        orders_of = pg.execute(
            "select customer_id, id from shop.orders where customer_id is not null"
        )
        account_orders = orders_of.fetchall()
    assert len(accounts) > 20
    for account, order in account_orders:
        assert truth[("web_user", account)] == truth[("shop", order)]

    key = b"test-privacy-key-for-live-sources-0123456789"
    erased, erased_email = next((k, v) for k, v in accounts.items() if v)
    ensure_tombstone_table(warehouse)
    warehouse.execute(
        "insert into privacy.tombstones values ('email', ?, 'req-1', current_timestamp)",
        [token(key, "email", normalise_identifier("email", erased_email))],
    )
    report = extract_shop_database(warehouse, _config(shop_database, tombstone_key=key))
    customers = next(t for t in report.tables if t.raw_table == "shop_customers")
    assert customers.rows_blocked >= 1
    loaded = dict(warehouse.execute(CURRENT_ACCOUNTS).fetchall())
    assert erased not in loaded
    assert loaded == {k: v for k, v in accounts.items() if v != erased_email}


def test_hard_deletes_wait_for_a_due_reconciliation_when_it_runs_on_an_interval(
    warehouse, shop_database
):
    hourly = _config(shop_database, reconcile_interval_seconds=3600)
    extract_shop_database(warehouse, hourly)  # first load: nothing to reconcile yet
    extract_shop_database(warehouse, hourly)  # reconciles, so the next one is not due
    with psycopg.connect(shop_database) as pg:
        deleted = pg.execute(
            "delete from shop.orders where id = (select min(id) from shop.orders) returning id"
        )
        gone = deleted.fetchone()[0]
    skipped = extract_shop_database(warehouse, hourly)
    orders = next(t for t in skipped.tables if t.raw_table == "shop_orders")
    assert orders.rows_deleted == 0
    assert any("reconciliation not due" in note for note in orders.notes)
    assert gone in warehouse_orders(warehouse)  # still there until the reconciliation is due
    due = extract_shop_database(warehouse, _config(shop_database))  # interval 0: every run
    assert next(t for t in due.tables if t.raw_table == "shop_orders").rows_deleted >= 1
    assert_equal_to_source(warehouse, shop_database)

"""A throwaway PostgreSQL 15 server for the tests, one per session, and a fresh database per test.

The server runs as the `postgres` system user when the tests run as root (CI does), on a free
loopback port, in a temporary folder; it is stopped when the session ends. Each test gets its
own database cloned from a seeded template (`create database … template …` copies files, so
it takes milliseconds), seeded once from a small slice of the committed sample.
"""

from __future__ import annotations

import csv
import itertools
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from python_models.sample_data.postgres_server import (
    LocalPostgres,
    PostgresServerError,
    server_bin_dir,
    start_server,
    stop_server,
)
from python_models.sample_data.shop_db import seed_shop

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"
TEMPLATE = "shop_template"


def small_landing_dir(target: Path, orders: int = 400) -> Path:
    """The first `orders` orders of the sample, their lines and the catalogue."""
    (target / "shop").mkdir(parents=True)
    (target / "catalog").mkdir(parents=True)
    order_ids: set[str] = set()
    with (
        (SAMPLE / "shop" / "orders_2026-11-01.csv").open(newline="") as src,
        (target / "shop" / "orders_2026-11-01.csv").open("w", newline="") as out,
    ):
        rows = csv.reader(src)
        writer = csv.writer(out)
        writer.writerow(next(rows))
        for row in itertools.islice(rows, orders):
            order_ids.add(row[0])
            writer.writerow(row)
    with (
        (SAMPLE / "shop" / "order_lines_2026-11-01.csv").open(newline="") as src,
        (target / "shop" / "order_lines_2026-11-01.csv").open("w", newline="") as out,
    ):
        rows = csv.reader(src)
        writer = csv.writer(out)
        writer.writerow(next(rows))
        writer.writerows(r for r in rows if r and r[0] in order_ids)
    for products in (SAMPLE / "catalog").glob("products_*.csv"):
        shutil.copy(products, target / "catalog" / products.name)
    return target


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    try:
        server_bin_dir()
    except PostgresServerError as exc:
        pytest.skip(str(exc))
    # pytest's own temp folders are private to root; the server user must reach its folder
    root = Path(tempfile.mkdtemp(prefix="c360-test-pg-"))
    server = start_server(root)
    try:
        landing = small_landing_dir(tmp_path_factory.mktemp("shop_landing"))
        with psycopg.connect(server.url(database="postgres"), autocommit=True) as pg:
            pg.execute(f'create database "{TEMPLATE}"')
        seed_shop(server.url(database=TEMPLATE), landing, memory_limit="500MB")
        yield server
    finally:
        stop_server(server, mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def shop_database(postgres_server: LocalPostgres) -> str:
    """The URL of a fresh, seeded shop database of this test's own (read by a read-only user)."""
    name = f"shop_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.url(database="postgres"), autocommit=True) as pg:
        pg.execute(f'create database "{name}" template "{TEMPLATE}"')
    with psycopg.connect(postgres_server.url(database=name), autocommit=True) as pg:
        pg.execute("grant usage on schema shop to shop_reader")
        pg.execute("grant select on all tables in schema shop to shop_reader")
    return postgres_server.url(database=name)


def reader_url(admin_url: str) -> str:
    """The same database as the read-only `shop_reader` (what the extract should use)."""
    return admin_url.replace("postgresql://postgres@", "postgresql://shop_reader@")

"""An analyst keeps a connection open all day while runs keep writing and publishing.

The reader is another process (as a notebook or the DuckDB CLI would be) holding a read-only
connection to the published snapshot; the pipeline writes the warehouse and publishes again
twice meanwhile. The reader sees the run it opened, whole, and the writer never fails.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from python_models.publish import PUBLISHED_SCHEMAS, publish_snapshot
from python_models.warehouse import connect

READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def show():
        run = con.execute("select run_id from main.snapshot_info").fetchone()[0]
        rows = con.execute("select count(*), max(run) from marts.dim_customers").fetchone()
        print(run, rows[0], rows[1], flush=True)
    show()
    for line in sys.stdin:  # the test says when to look again
        show()
    """
)


def build_run(warehouse: Path, run: int, customers: int) -> None:
    """What a pipeline run leaves: a mart rebuilt whole, a staging view, raw rows."""
    with connect(warehouse, memory_limit="1GB") as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists raw")
        con.execute(
            "create or replace table marts.dim_customers as "
            f"select range as customer_key, {run} as run from range({customers})"
        )
        con.execute(
            "create or replace view marts.recent as select * from marts.dim_customers "
            "where customer_key < 3"
        )
        con.execute("create or replace table raw.crm_contacts as select 'secret' as email")


def publish(warehouse: Path, target: Path, run: int):
    with connect(warehouse, memory_limit="1GB") as con:
        return publish_snapshot(con, target, run_id=f"run-{run}", as_of="2026-11-01T00:00:00")


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def test_a_reader_open_all_day_sees_its_run_whole_and_never_blocks_a_run(tmp_path, warehouse):
    target = tmp_path / "analyst.duckdb"
    build_run(warehouse, run=1, customers=10)
    publish(warehouse, target, run=1)

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split() == ["run-1", "10", "1"]
        for run, customers in ((2, 20), (3, 30)):  # two runs while the reader stays open
            build_run(warehouse, run=run, customers=customers)
            result = publish(warehouse, target, run=run)
            assert result.tables == 2 and result.rows == 3 + customers
            reader.stdin.write("again\n")
            reader.stdin.flush()
            assert reader.stdout.readline().split() == ["run-1", "10", "1"]  # its snapshot
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=30) == 0

    with duckdb.connect(str(target), read_only=True) as fresh:  # a new connection: run 3
        assert fresh.execute("select count(*), max(run) from marts.dim_customers").fetchone() == (
            30,
            3,
        )
        schemas = {
            r[0] for r in fresh.execute("select schema_name from duckdb_schemas()").fetchall()
        }
        assert "raw" not in schemas  # unvalidated raw data and PII stay in the warehouse
        kinds = fresh.execute(
            "select table_type from information_schema.tables where table_name = 'recent'"
        ).fetchall()
        assert kinds == [("BASE TABLE",)]  # views are published as what they showed
    assert not list(tmp_path.glob(".analyst.duckdb.tmp-*"))
    assert "raw" not in PUBLISHED_SCHEMAS


def test_a_failed_publish_leaves_the_previous_snapshot_in_place(tmp_path, warehouse):
    target = tmp_path / "analyst.duckdb"
    build_run(warehouse, run=1, customers=5)
    publish(warehouse, target, run=1)
    with connect(warehouse, memory_limit="1GB") as con, pytest.raises(duckdb.Error):
        publish_snapshot(con, target, storage_version="v0.0.1-not-a-version")

    with duckdb.connect(str(target), read_only=True) as reader:
        assert reader.execute("select run_id from main.snapshot_info").fetchone() == ("run-1",)
    assert not list(tmp_path.glob(".analyst.duckdb.tmp-*"))


def test_the_documented_duckdb_cli_opens_the_snapshot(tmp_path, warehouse):
    """docs/runbook.md tells analysts to use the DuckDB CLI the project installs (1.5.x),
    which cannot read duckdb 2.0's default storage format."""
    cli = Path(sys.executable).with_name("duckdb")
    cli = cli if cli.exists() else Path(shutil.which("duckdb") or "duckdb")
    target = tmp_path / "analyst.duckdb"
    build_run(warehouse, run=1, customers=7)
    publish(warehouse, target, run=1)

    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v1.5")
    shown = subprocess.run(
        [
            str(cli),
            "-readonly",
            "-csv",
            str(target),
            "-c",
            "select count(*) from marts.dim_customers",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["count_star()", "7"]

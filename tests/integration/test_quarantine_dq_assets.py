"""The data-quality assets in Dagster, and the publish command, on a small temporary warehouse."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.quality.assets import dq_outliers, dq_scorecard, dq_volume_anomalies
from python_models.quality.quarantine import quarantine_load
from tests.support.raw_tables import insert_raw_rows


def order(order_id: str, **overrides: str) -> dict:
    row = {
        "order_id": order_id,
        "customer_email": f"{order_id}@example.com",
        "ordered_at": "2026-10-31T10:00:00Z",
        "status": "completed",
        "currency": "GBP",
        "shipping_amount": "3.95",
    }
    return {**row, **overrides}


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CUSTOMER360_DQ_DIR", str(tmp_path / "dq"))
    monkeypatch.delenv("CUSTOMER360_AS_OF", raising=False)
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for day in range(1, 9):  # eight daily loads; the last one is a fraction of the others
            count = 40 + day if day < 8 else 5
            rows = [order(f"d{day}-{i}") for i in range(count)]
            rows[0]["status"] = "lost" if day == 8 else "completed"
            load_id = f"shop-{day}"
            insert_raw_rows(con, "shop_orders", rows, load_id, f"2026-11-{day:02d} 02:00:00")
            quarantine_load(con, "shop_orders", load_id)
        con.execute("create schema marts")
        orders = pd.DataFrame(  # noqa: F841 (read by DuckDB)
            {
                "order_id": [f"o{i}" for i in range(120)],
                "customer_key": [f"c_{i % 60:012x}" for i in range(120)],
                "channel": "online",
                "currency": "GBP",
                "net_amount_reporting": [50.0 + i % 9 for i in range(119)] + [9_000.0],
                "is_return": False,
            }
        )
        events = pd.DataFrame(  # noqa: F841
            {"event_id": range(300), "customer_key": [f"c_{i % 60:012x}" for i in range(300)]}
        )
        con.execute("create table marts.fct_orders as select * from orders")
        con.execute("create table marts.fct_events as select * from events")
    return path


def test_dq_assets_write_tables_and_the_report(warehouse: Path, tmp_path: Path) -> None:
    result = dg.materialize(
        [dq_volume_anomalies, dq_scorecard, dq_outliers],
        resources={"duckdb": DuckDBResource(database=str(warehouse))},
        raise_on_error=False,
    )
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        scored = con.execute("select count(*) from dq.dq_scorecard").fetchall()[0][0]
        anomalies = con.execute("select load_id, metric from dq.dq_volume_anomalies").fetchall()
        outliers = con.execute("select entity, entity_id, method from dq.dq_outliers").fetchall()
    assert scored == 8
    assert ("shop-8", "row_count") in anomalies
    assert ("order", "o119", "robust_z") in outliers
    report = (tmp_path / "dq" / "scorecard.html").read_text()
    assert "shop_orders" in report and "row_count" in report and "robust_z" in report


def test_publish_command_scores_and_writes_the_report(
    warehouse: Path, tmp_path: Path, run_cli
) -> None:
    out = tmp_path / "elsewhere" / "report.html"
    result = run_cli("quality", "report", "--warehouse", warehouse, "--out", out)
    assert result.exit_code == 0, result.output
    printed = result.stdout
    assert "WARNING raw.shop_orders load shop-8: row_count = 5" in printed
    assert "scored 8 new load(s)" in printed
    assert out.read_text().startswith("<!doctype html>")

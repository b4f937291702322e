"""The raw-table quality checks in a Dagster run: blocking failures stop the run and alert."""

import json
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.quality.checks import build_raw_table_checks
from python_models.quality.quarantine import quarantine_load
from python_models.quality.testing import insert_raw_rows


def order(order_id: str, **overrides: str) -> dict:
    row = {
        "order_id": order_id,
        "customer_email": f"{order_id}@example.com",
        "ordered_at": "2026-10-01T10:00:00Z",
        "status": "completed",
        "currency": "GBP",
        "shipping_amount": "3.95",
    }
    return {**row, **overrides}


def run_pipeline(warehouse: Path, rows: list[dict]) -> dg.ExecuteInProcessResult:
    """A stand-in extract asset for raw/shop_orders, its checks, and one downstream asset."""

    @dg.asset(key=["raw", "shop_orders"])
    def extract_orders(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as con:
            insert_raw_rows(con, "shop_orders", rows, load_id="shop-abc")
            quarantine_load(con, "shop_orders", "shop-abc")

    @dg.asset(deps=[dg.AssetKey(["raw", "shop_orders"])])
    def downstream() -> None:
        pass

    definitions = dg.Definitions(
        assets=[extract_orders, downstream],
        asset_checks=[build_raw_table_checks("shop_orders")],
        resources={"duckdb": DuckDBResource(database=str(warehouse))},
    )
    job = definitions.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(raise_on_error=False)


@pytest.fixture
def dq_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CUSTOMER360_DQ_DIR", str(tmp_path / "dq"))
    monkeypatch.setenv("CUSTOMER360_ALERT_HOOK", f"file:{tmp_path / 'alerts.jsonl'}")
    monkeypatch.setenv("CUSTOMER360_DQ_MAX_QUARANTINE_SHARE", "0.2")
    return tmp_path


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_a_mostly_good_load_passes_and_reports_ge_results(dq_env: Path) -> None:
    rows = [order(f"o{i}") for i in range(9)] + [order("o9", status="lost")]
    result = run_pipeline(dq_env / "w.duckdb", rows)
    assert result.success
    checks = check_results(result)
    blocking = checks["blocking_rules"]
    assert blocking.passed
    assert blocking.metadata["rows_read"].value == 10
    assert blocking.metadata["rows_quarantined"].value == 1
    assert blocking.metadata["rows_passed"].value == 9
    assert blocking.metadata["status_accepted_values"].value == {
        "success": True,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
    }
    assert (dq_env / "dq" / "data_docs" / "shop_orders" / "index.html").exists()
    assert (dq_env / "dq" / "data_docs" / "index.html").exists()
    assert not (dq_env / "alerts.jsonl").exists()


def test_a_broken_feed_fails_the_run_stops_downstream_and_alerts(dq_env: Path) -> None:
    rows = [order(f"o{i}", currency="XX") for i in range(5)] + [order("ok1"), order("ok2")]
    result = run_pipeline(dq_env / "w.duckdb", rows)
    assert not result.success
    assert not check_results(result)["blocking_rules"].passed
    materialized = {
        e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization
    }
    assert "downstream" not in materialized
    [alert] = [json.loads(line) for line in (dq_env / "alerts.jsonl").read_text().splitlines()]
    message = alert["message"]
    assert "raw.shop_orders" in message
    assert "rule currency_accepted_values: 5 failing row(s)" in message
    assert message.count("'currency': 'XX'") == 3  # three sample rows
    assert alert["details"]["load_id"] == "shop-abc"

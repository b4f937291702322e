"""The raw-table quality checks in a Dagster run: blocking failures stop the run and alert."""

import json
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.quality.checks import build_raw_table_checks
from python_models.quality.quarantine import quarantine_load
from tests.support.raw_tables import insert_raw_rows


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


def run_pipeline(
    warehouse: Path, rows: list[dict], earlier_rows: list[dict] | None = None
) -> dg.ExecuteInProcessResult:
    """A stand-in extract asset for raw/shop_orders, its checks, and one downstream asset.

    `earlier_rows`, when given, is a first file loaded in the same run before `rows`.
    """

    @dg.asset(key=["raw", "shop_orders"])
    def extract_orders(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> None:
        loads = [("shop-000", earlier_rows, "2026-11-01 01:00:00")] if earlier_rows else []
        loads.append(("shop-abc", rows, "2026-11-01 02:00:00"))
        with duckdb.get_connection() as con:
            con.execute("create schema if not exists audit")
            con.execute("create table if not exists audit.load_audit (load_id text, run_id text)")
            for load_id, load_rows, loaded_at in loads:
                insert_raw_rows(con, "shop_orders", load_rows, load_id, loaded_at)
                quarantine_load(con, "shop_orders", load_id)
                con.execute(
                    "insert into audit.load_audit values (?, ?)", [load_id, context.run.run_id]
                )

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
    # the steward is sent to the dashboard's drill-down; GE's CDN-bound Data Docs are not built
    drill_down = blocking.metadata["drill_down"].value
    assert drill_down.startswith("file://") and drill_down.endswith("dashboard.html#quality")
    assert not (dq_env / "dq" / "data_docs").exists()
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


def test_a_broken_file_is_caught_even_when_a_clean_one_lands_after_it(dq_env: Path) -> None:
    broken = [order(f"b{i}", status="??") for i in range(6)] + [order("b-ok")]
    result = run_pipeline(dq_env / "w.duckdb", [order(f"o{i}") for i in range(5)], broken)
    assert not result.success
    [alert] = [json.loads(line) for line in (dq_env / "alerts.jsonl").read_text().splitlines()]
    assert "load shop-000: 6 of 7 rows quarantined" in alert["message"]
    assert "shop-abc" not in alert["message"]  # the clean file is not blamed

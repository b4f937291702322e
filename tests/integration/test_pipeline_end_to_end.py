"""The whole job, end to end, on the committed sample in a temporary warehouse."""

import duckdb
import pytest

from orchestration.cli import load_definitions, materialize

pytestmark = pytest.mark.slow

MARTS_THAT_MUST_HAVE_ROWS = [
    "dim_customers",
    "fct_orders",
    "fct_events",
    "dim_products",
    "customer_rfm",
    "segment_membership",
]


def test_definitions_load_with_jobs_schedules_and_sensor() -> None:
    definitions = load_definitions()
    assert definitions.resolve_job_def("full_pipeline")
    assert definitions.resolve_job_def("clickstream_extract")
    schedules = {s.name: s.cron_schedule for s in definitions.schedules}
    assert "*/15 * * * *" in schedules.values()
    assert {"new_landing_files", "alert_on_run_failure"} <= {s.name for s in definitions.sensors}


def test_full_pipeline_succeeds_and_fills_every_mart(sample_pipeline) -> None:
    result, warehouse = sample_pipeline
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, f"failed steps: {failed}"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in MARTS_THAT_MUST_HAVE_ROWS:
            rows = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
            assert rows > 0, f"marts.{table} is empty"


def test_rerun_with_no_new_files_loads_nothing_and_keeps_keys(sample_pipeline) -> None:
    _, warehouse = sample_pipeline
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loads_before = con.execute("select count(*) from audit.load_audit").fetchone()[0]
        keys_before = con.execute(
            "select source_system, source_record_id, customer_key from identity.identity_graph"
        ).fetchall()
    result = materialize("*")
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from audit.load_audit").fetchone()[0] == loads_before
        keys_after = con.execute(
            "select source_system, source_record_id, customer_key from identity.identity_graph"
        ).fetchall()
    assert sorted(keys_after) == sorted(keys_before)

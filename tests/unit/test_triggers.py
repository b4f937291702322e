"""Schedules and the landing sensor decide correctly when to run, and with which "now"."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.defs.schedules import daily_full_refresh
from orchestration.defs.sensors import new_landing_files
from orchestration.settings import AS_OF_TAG
from python_models.landing import landing_fingerprint, new_files_since


def test_daily_run_uses_its_scheduled_time_as_now() -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    )
    request = daily_full_refresh(context)
    assert request.tags[AS_OF_TAG] == "2026-12-03T02:00:00"
    assert request.partition_key == "2026-12-03"  # that day's clickstream and orders


def test_the_clickstream_runs_for_todays_delivery() -> None:
    from orchestration.defs.schedules import clickstream_every_15_minutes

    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 3, 9, 45, tzinfo=UTC)
    )
    assert clickstream_every_15_minutes(context).partition_key == "2026-12-03"


def test_new_files_of_two_days_give_a_run_per_day_and_undated_files_one_more() -> None:
    from orchestration.defs.sensors import landing_run_requests

    files = [
        "web/events_2026-11-02_part0001.ndjson.gz",
        "shop/orders_2026-11-01.csv",
        "web/events_2026-11-02_part0002.ndjson.gz",
        "crm/contacts.csv",
    ]
    requests = landing_run_requests(files, "abc")
    assert [(r.partition_key, r.tags["new_files"]) for r in requests] == [
        ("2026-11-01", "1"),
        ("2026-11-02", "2"),
        (None, "4"),
    ]
    assert [r.partition_key for r in landing_run_requests(files[:2], "abc")] == [
        "2026-11-01",
        "2026-11-02",
    ]


def test_new_or_changed_files_are_noticed_and_hidden_ones_ignored(tmp_path: Path) -> None:
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "contacts_1.csv").write_text("crm_id\n1\n")
    (tmp_path / ".partial.csv").write_text("being copied")
    first = landing_fingerprint(tmp_path)
    assert new_files_since(None, first) == ["crm/contacts_1.csv"]
    assert new_files_since(first.to_cursor(), landing_fingerprint(tmp_path)) == []

    (tmp_path / "crm" / "contacts_2.csv").write_text("crm_id\n2\n")
    assert new_files_since(first.to_cursor(), landing_fingerprint(tmp_path)) == [
        "crm/contacts_2.csv"
    ]


def test_sensor_requests_one_run_per_new_landing_state(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CUSTOMER360_LANDING_DIR", str(tmp_path))
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "events_1.ndjson.gz").write_bytes(b"x")
    result = new_landing_files(dg.build_sensor_context())
    assert len(result.run_requests) == 1
    again = new_landing_files(dg.build_sensor_context(cursor=result.cursor))
    assert isinstance(again, dg.SkipReason)


def test_models_are_retrained_weekly_as_of_the_scheduled_night() -> None:
    from orchestration.defs.schedules import weekly_model_retrain

    assert weekly_model_retrain.cron_schedule == "0 4 * * 0"
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    )
    assert weekly_model_retrain(context).tags[AS_OF_TAG] == "2026-12-06T04:00:00"


def test_a_failed_run_is_reported_through_the_alert_hook(tmp_path: Path, monkeypatch) -> None:
    """A job whose step fails: the failure sensor sends one alert naming the step and error."""
    import json

    from orchestration.defs.sensors import alert_on_run_failure

    hook = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("CUSTOMER360_ALERT_HOOK", f"file:{hook}")

    @dg.op
    def load_orders() -> None:
        raise ValueError("orders_2026-11-02.csv: column ordered_at missing")

    @dg.job
    def nightly() -> None:
        load_orders()

    with dg.DagsterInstance.ephemeral() as instance:
        result = nightly.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=failure,
        ).for_run_failure()
        alert_on_run_failure(context)
    alerts = [json.loads(line) for line in hook.read_text().splitlines()]
    assert len(alerts) == 1
    assert alerts[0]["title"] == "customer360: run of nightly failed"
    assert (
        "- step load_orders: ValueError: orders_2026-11-02.csv: column ordered_at missing"
        in alerts[0]["message"]
    )
    assert alerts[0]["details"]["failed_steps"] == ["load_orders"]

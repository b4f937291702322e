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

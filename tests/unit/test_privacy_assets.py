"""The erasure-requests asset picks up landed request files; the retention purge."""

from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.privacy.assets import erasure_requests
from python_models.privacy.retention import purge_expired_events

HEADER = "request_id,identifier_type,identifier\n"


def warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute("""
        create table raw.crm_contacts as select * from (values
            ('C1', 'ann@example.com', 'l1'), ('C2', 'bob@example.com', 'l1')
        ) as t(crm_id, email, _load_id)
    """)
    con.execute("""
        create table raw.web_events as select * from (values
            ('e1', '2024-01-01T10:00:00Z', 'l2'), ('e2', '2026-10-30T10:00:00+02:00', 'l2')
        ) as t(event_id, occurred_at, _load_id)
    """)
    con.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    landing, database = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    (landing / "privacy").mkdir(parents=True)
    warehouse(database)
    monkeypatch.setenv("CUSTOMER360_LANDING_DIR", str(landing))
    monkeypatch.setenv("CUSTOMER360_WAREHOUSE", str(database))
    return landing, database


def run(database: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [erasure_requests],
        resources={"duckdb": DuckDBResource(database=str(database))},
        raise_on_error=False,
    )


def test_a_landed_requests_file_is_erased_then_deleted(env) -> None:
    landing, database = env
    requests = landing / "privacy" / "erasure_requests_2026-12-03.csv"
    requests.write_text(HEADER + "R1,email,ANN@example.com\nR2,email,nobody@example.com\n")
    result = run(database)
    assert result.success
    (materialization,) = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["requests"].value == 2 and metadata["requests_no_match"].value == 1
    assert not requests.exists()  # it held the identifiers
    con = duckdb.connect(str(database))
    assert con.execute("select crm_id from raw.crm_contacts").fetchall() == [("C2",)]
    assert con.execute(
        "select request_id, outcome from audit.privacy_log order by 1"
    ).fetchall() == [("R1", "erased"), ("R2", "no_match")]


def test_a_malformed_requests_file_fails_by_name_and_line_and_is_kept(env) -> None:
    landing, database = env
    requests = landing / "privacy" / "erasure_requests.csv"
    requests.write_text(HEADER + "R1,email,ann@example.com\nR2,email\n")
    result = run(database)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "erasure_requests.csv: line 3: 2 fields" in failure.step_failure_data.error.message
    assert requests.exists()
    con = duckdb.connect(str(database))
    assert con.execute("select count(*) from raw.crm_contacts").fetchone()[0] == 2


def test_retention_purges_only_events_older_than_the_window_and_audits(env) -> None:
    _, database = env
    con = duckdb.connect(str(database))
    deleted = purge_expired_events(con, as_of=datetime(2026, 11, 1), retention_days=365, run_id="r")
    assert deleted == {"raw.web_events": 1}
    assert con.execute("select event_id from raw.web_events").fetchall() == [("e2",)]
    logged = con.execute(
        "select event_type, rows_affected, details->>'cutoff' from audit.privacy_log"
    ).fetchall()
    assert logged == [("purge", 1, "2025-11-01T00:00:00")]
    assert purge_expired_events(
        con, as_of=datetime(2026, 11, 1), retention_days=365, run_id="r"
    ) == {"raw.web_events": 0}

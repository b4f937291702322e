"""One definition of freshness: `dbt source freshness` and the scorecard give every raw source
of the sample the same verdict, judged at as_of, and still do when the wall clock is a year
later (the loads stamped a year on, the scorecard computed a year on).

Before, dbt judged `_loaded_at` against the wall clock while the scorecard judged event times
at as_of, so the two disagreed on the demo and dbt's verdict moved with the day it ran.
"""

from pathlib import Path

import pytest
import time_machine
from dagster_dbt import DbtCliResource

from orchestration.defs.transform.dbt import prepared_dbt_project, source_freshness_args
from orchestration.settings import SAMPLE_LANDING_DIR
from python_models.extract import load_landing_dir
from python_models.quality.quarantine import quarantine_load
from python_models.quality.scorecard import update_scorecard
from python_models.transform import dbt_executable
from python_models.warehouse import connect, set_as_of

LOADED_AS_OF = "2026-11-01T00:00:00"
# Two days after the sample's as_of: some sources are within their SLA, some past it, and
# the web events (6 h warning, 48 h error) past the error.
AS_OF = "2026-11-03T00:00:00"
Verdicts = dict[str, tuple[str, float]]


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's landing files in raw (and quarantine), loaded just after its as_of."""
    warehouse = tmp_path_factory.mktemp("freshness") / "warehouse.duckdb"
    with (
        time_machine.travel("2026-11-01T06:00:00Z", tick=False),
        connect(warehouse, memory_limit="1GB") as con,
    ):
        set_as_of(con, LOADED_AS_OF)
        load_landing_dir(con, SAMPLE_LANDING_DIR, run_id="run", quarantine=quarantine_load)
    return warehouse


def scorecard_verdicts(warehouse: Path, wall_clock: str) -> Verdicts:
    with time_machine.travel(wall_clock, tick=False), connect(warehouse, memory_limit="1GB") as con:
        set_as_of(con, AS_OF)
        update_scorecard(con, as_of=AS_OF, rebuild=True)
        rows = con.execute(
            "select source, status, age_hours from dq.dq_source_freshness"
        ).fetchall()
    return {source: (status, round(age, 3)) for source, status, age in rows}


def dbt_verdicts(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Verdicts:
    """`dbt source freshness` as the pipeline runs it (check_source_freshness)."""
    monkeypatch.setenv("CUSTOMER360_WAREHOUSE", str(warehouse))
    dbt = DbtCliResource(project_dir=prepared_dbt_project(), dbt_executable=dbt_executable())
    invocation = dbt.cli(source_freshness_args(AS_OF), raise_on_error=False)
    invocation.wait()
    results = invocation.get_artifact("sources.json")["results"]
    return {
        r["unique_id"].removeprefix("source.customer360.raw."): (
            r["status"],
            round(r["max_loaded_at_time_ago_in_s"] / 3600, 3),
        )
        for r in results
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dbt_and_the_scorecard_agree_on_every_source_under_any_wall_clock(
    sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    soon = scorecard_verdicts(sample_warehouse, "2026-11-03T06:00:00Z")
    assert dbt_verdicts(sample_warehouse, monkeypatch) == soon
    assert {status for status, _ in soon.values()} == {"pass", "warn", "error"}, soon
    assert soon["web_events"][0] == "error" and soon["crm_contacts"][0] == "warn"
    assert "catalog_products" not in soon  # no event time, no verdict in either

    # A year later: the loads stamped a year on (what dbt's verdict used to follow), the
    # scorecard computed a year on; the same data and as_of keep the same verdicts.
    with connect(sample_warehouse, memory_limit="1GB") as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall():
            con.execute(f"update raw.{table} set _loaded_at = _loaded_at + interval 1 year")
    later = scorecard_verdicts(sample_warehouse, "2027-11-03T06:00:00Z")
    assert later == soon
    assert dbt_verdicts(sample_warehouse, monkeypatch) == later

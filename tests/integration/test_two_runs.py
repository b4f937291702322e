"""Two runs started at once on one warehouse: the second fails fast, naming the first, and
nothing on disk is corrupted (dbt's manifest included), so the next run succeeds. Runs that
Dagster itself launches (the daemon's schedules and sensors, the UI) take the same lock
through the definitions' executor: they refuse to start, or wait, while a CLI run holds it."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableRepository

from orchestration.run_lock import WarehouseBusy, hold_run_lock, lock_path
from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT

SELECTION = 'key:"raw/catalog_products" or key:"quarantine/catalog_products"'


def start_run(warehouse: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run", SELECTION],
        env={**os.environ, "CUSTOMER360_WAREHOUSE": str(warehouse)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_the_second_of_two_runs_fails_fast_and_the_first_is_unharmed(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    # the second starts once the first holds the lock: two processes racing to start could
    # otherwise run one after the other when the first finishes its tiny selection first
    first = start_run(warehouse)
    deadline = time.monotonic() + 300
    while not (lock_path(warehouse).exists() and lock_path(warehouse).read_text()):
        assert first.poll() is None and time.monotonic() < deadline, "first run never held it"
        time.sleep(0.05)
    runs = [first, start_run(warehouse)]
    started = time.monotonic()
    results = [(run.pid, *run.communicate(timeout=600)) for run in runs]
    codes = sorted(run.returncode for run in runs)

    assert codes == [0, 3], results
    by_code = {run.returncode: r for r, run in zip(results, runs, strict=True)}
    (loser_pid, _, loser_err), winner_pid = by_code[3], by_code[0][0]
    message = " ".join(loser_err.split())
    assert "another run holds the warehouse" in message
    assert re.search(rf"since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ, pid {winner_pid}\b", message)
    assert loser_pid != winner_pid
    assert time.monotonic() - started < 600

    json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())  # not corrupted
    assert not lock_path(warehouse).read_text()  # released, holder cleared
    with hold_run_lock(warehouse):  # and free for the next run
        pass


def hold_in_another_process(warehouse: Path, command: str) -> subprocess.Popen:
    """A process holding the warehouse's run lock (as a CLI run does) until it is killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from orchestration.run_lock import hold_run_lock\n"
            "with hold_run_lock(sys.argv[1], command=sys.argv[2]):\n"
            "    print('held', flush=True); time.sleep(600)",
            str(warehouse),
            command,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_lock_held_by_another_process_names_it_and_is_freed_when_it_dies(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = hold_in_another_process(warehouse, "nightly run")
    try:
        busy = pytest.raises(WarehouseBusy, match=rf"pid {holder.pid} on .* \(nightly run\)")
        with busy, hold_run_lock(warehouse, wait_seconds=0.5):
            pass
    finally:
        holder.kill()  # killed, not finished: the kernel frees the lock anyway
        holder.wait()
    with hold_run_lock(warehouse) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def project_job(name: str) -> dg.JobDefinition:
    """A job of the project's definitions, loadable in another process as the daemon loads it."""
    repository = ReconstructableRepository.for_module(
        "orchestration.definitions", "defs", working_directory=str(PROJECT_ROOT)
    )
    return repository.get_reconstructable_job(name)


def launch(job, instance: dg.DagsterInstance, **kwargs):
    """Run a job through Dagster's API, as `dagster api execute_run` (daemon, UI) does."""
    return dg.execute_job(
        job,
        instance,
        run_config={"execution": {"config": {"in_process": {}}}},
        raise_on_error=False,
        **kwargs,
    )


def test_a_run_dagster_launches_refuses_to_start_while_a_cli_run_holds_the_lock(
    tmp_path, monkeypatch
):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CUSTOMER360_WAREHOUSE", str(warehouse))
    holder = hold_in_another_process(warehouse, "customer360 demo")
    try:
        with dg.instance_for_test() as instance:
            result = launch(project_job("full_pipeline"), instance)
            events = result.all_events
    finally:
        holder.kill()
        holder.wait()

    assert not result.success
    [failure] = [e.event_specific_data.error.message for e in events if e.is_run_failure]
    assert "another run holds the warehouse" in failure
    assert f"pid {holder.pid}" in failure and "(customer360 demo)" in failure
    assert not [e for e in events if e.event_type_value == "STEP_START"]  # nothing ran
    assert not warehouse.exists()

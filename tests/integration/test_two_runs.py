"""Two runs started at once on one warehouse: the second fails fast, naming the first, and
nothing on disk is corrupted (dbt's manifest included), so the next run succeeds."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.run_lock import WarehouseBusy, hold_run_lock, lock_path
from orchestration.settings import DBT_PROJECT_DIR

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
    runs = [start_run(warehouse), start_run(warehouse)]
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


def test_a_lock_held_by_another_process_names_it_and_is_freed_when_it_dies(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from orchestration.run_lock import hold_run_lock\n"
            "with hold_run_lock(sys.argv[1], command='nightly run'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = pytest.raises(WarehouseBusy, match=rf"pid {holder.pid} on .* \(nightly run\)")
        with busy, hold_run_lock(warehouse, wait_seconds=0.5):
            pass
    finally:
        holder.kill()  # killed, not finished: the kernel frees the lock anyway
        holder.wait()
    with hold_run_lock(warehouse) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()

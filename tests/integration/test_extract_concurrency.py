"""Concurrent file loads leave exactly what one-at-a-time loads leave.

The extract loads several files at once (`workers`), each on its own cursor. These tests load
the same landing dir (the committed sample plus a second events file with a broken line, a
copy of a file under another name and a malformed file) serially and with several workers into
separate warehouses, with the real quality rules, and compare every raw, quarantine and audit
row apart from wall-clock columns.
"""

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import SAMPLE_LANDING_DIR
from python_models.extract import load_landing_dir
from python_models.extract.loader import concurrent_groups
from python_models.quality.quarantine import quarantine_load
from tests.support.contents import table_contents

#: columns that hold when something ran, not what was loaded
WALL_CLOCK = {
    "_loaded_at", "quarantined_at", "loaded_at", "seconds", "run_id", "rejected_at", "recorded_at",
}  # fmt: skip


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("concurrency") / "landing"
    shutil.copytree(SAMPLE_LANDING_DIR, root)
    events = gzip.decompress((root / "web/events_2026-11-01.ndjson.gz").read_bytes()).splitlines()
    second = [*events[:3000], b'{"event_id": "broken', *events[3000:6000]]
    (root / "web/events_2026-11-02.ndjson.gz").write_bytes(gzip.compress(b"\n".join(second)))
    contacts = root / "crm/contacts_2026-11-01.csv"
    (root / "crm/contacts_2026-11-01_copy.csv").write_bytes(contacts.read_bytes())
    (root / "shop/orders_semicolons.csv").write_text("order_id;user_id\no1;u1\n")
    return root


def content(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of the raw, quarantine and audit tables without wall-clock columns, sorted."""
    return table_contents(con, ("raw", "quarantine", "audit"), WALL_CLOCK)


def load(tmp_path: Path, landing: Path, workers: int) -> tuple[list[tuple], dict]:
    with duckdb.connect(str(tmp_path / f"warehouse_{workers}.duckdb")) as con:
        report = load_landing_dir(
            con, landing, run_id="run", quarantine=quarantine_load, workers=workers
        )
        again = load_landing_dir(
            con, landing, run_id="again", quarantine=quarantine_load, workers=workers
        )
        assert {f.status for f in again.files} == {"already_loaded", "unchanged_rejected"}
        files = [
            (f.file_path, f.status, f.rows_read, f.rows_loaded, f.rows_rejected, f.rows_quarantined)
            for f in report.files
        ]
        return files, content(con)


def test_concurrent_loads_match_serial_loads_row_for_row(tmp_path, landing):
    serial_files, serial = load(tmp_path, landing, workers=1)
    concurrent_files, concurrent = load(tmp_path, landing, workers=3)

    assert concurrent_files == serial_files  # same files, same order, same counts
    assert concurrent == serial
    statuses = {path: status for path, status, *_ in serial_files}
    assert statuses["crm/contacts_2026-11-01_copy.csv"] == "already_loaded"
    assert statuses["shop/orders_semicolons.csv"] == "rejected"
    broken = [r for r in serial["quarantine.web_events"] if "unparseable_row" in str(r)]
    assert len(broken) == 1
    assert sum(len(rows) for rows in serial.values()) > 100_000


def test_files_that_may_hold_the_same_content_load_one_after_another():
    files = [(("crm", "a"), 10), (("web", "b"), 500), (("crm", "a"), 12), (("crm", "c"), 30)]

    groups = concurrent_groups(files)

    assert groups == [[1], [3], [0, 2]]  # largest first; the same content of a table together


def test_workers_must_be_positive(tmp_path, landing):
    with (
        duckdb.connect(str(tmp_path / "w.duckdb")) as con,
        pytest.raises(ValueError, match="workers"),
    ):
        load_landing_dir(con, landing, quarantine=quarantine_load, workers=0)

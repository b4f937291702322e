"""Every file under the landing dir ends a run in exactly one recorded state, with a reason.

One test per landing case of issue 16; `CASES` runs them all in one landing dir too and
checks `audit.landing_files` holds one row per file. The quality package's quarantine step is
the real one, so a mistyped JSON key is seen in `quarantine.web_events` with its rule.
"""

# ruff: noqa: F811  (the landing and con fixtures come from test_extract, used as parameters)
import gzip
import json
from pathlib import Path

import pytest

from python_models.extract import load_landing_dir
from python_models.quality.quarantine import quarantine_load
from tests.unit.test_extract import CRM_HEADER, con, crm_row, event, landing  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def contacts_csv(first: int, count: int = 1, encoding: str = "utf-8") -> bytes:
    rows = [",".join(CRM_HEADER)] + [",".join(crm_row(n)) for n in range(first, first + count)]
    return ("\n".join(rows) + "\n").encode(encoding)


def events_ndjson(*events: dict) -> bytes:
    return ("\n".join(json.dumps(e) for e in events) + "\n").encode()


def put(landing: Path, relative: str, data: bytes) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def run(con, landing, run_id: str = "run-1"):
    return load_landing_dir(con, landing, run_id=run_id, quarantine=quarantine_load)


def states(con, run_id: str = "run-1") -> dict[str, tuple[str, str | None]]:
    return {
        path: (state, reason)
        for path, state, reason in con.execute(
            "select file_path, state, reason from audit.landing_files where run_id = ?", [run_id]
        ).fetchall()
    }


def test_an_upper_case_extension_loads(con, landing):
    put(landing, "crm/contacts_002.CSV", contacts_csv(1, 2))

    report = run(con, landing)

    assert states(con)["crm/contacts_002.CSV"] == ("loaded", None)
    assert report.loaded[0].rows_loaded == 2


def test_a_gzipped_csv_loads(con, landing):
    put(landing, "crm/contacts_2026-11-01.csv.gz", gzip.compress(contacts_csv(1, 3)))

    run(con, landing)

    assert states(con)["crm/contacts_2026-11-01.csv.gz"][0] == "loaded"
    assert con.execute("select count(*) from raw.crm_contacts").fetchone() == (3,)


def test_a_plain_ndjson_loads(con, landing):
    put(landing, "web/events_001.ndjson", events_ndjson(event(1), event(2)))

    run(con, landing)

    assert states(con)["web/events_001.ndjson"][0] == "loaded"
    assert con.execute("select count(*) from raw.web_events").fetchone() == (2,)


def test_a_copy_with_a_prefix_is_unrecognised_and_says_why(con, landing):
    put(landing, "crm/copy_of_contacts_001.csv", contacts_csv(1))

    report = run(con, landing)

    state, reason = states(con)["crm/copy_of_contacts_001.csv"]
    assert state == "unrecognised"
    assert "matches no landing pattern of crm/ (crm/contacts_*.csv" in reason
    assert "something before 'contacts_'" in reason
    assert "NOT loaded" in report.summary().splitlines()[-1]


def test_a_file_in_an_unknown_folder_is_unrecognised(con, landing):
    put(landing, "erp/invoices_001.csv", b"invoice_id\n1\n")
    put(landing, "stray.csv", b"a\n1\n")

    run(con, landing)

    found = states(con)
    assert found["erp/invoices_001.csv"][0] == "unrecognised"
    assert "folder erp/ is no source system" in found["erp/invoices_001.csv"][1]
    assert "not in a source system's folder" in found["stray.csv"][1]


def test_a_hidden_upload_in_progress_is_unrecognised_not_loaded(con, landing):
    put(landing, "crm/.contacts_003.csv.part", contacts_csv(1))

    run(con, landing)

    assert states(con)["crm/.contacts_003.csv.part"][0] == "unrecognised"
    assert "hidden file" in states(con)["crm/.contacts_003.csv.part"][1]


def test_the_same_events_re_gzipped_under_a_new_name_load_once(con, landing):
    lines = events_ndjson(event(1), event(2))
    put(landing, "web/events_001.ndjson.gz", gzip.compress(lines, compresslevel=9, mtime=1))
    run(con, landing)
    put(landing, "web/events_001_resent.ndjson.gz", gzip.compress(lines, compresslevel=1, mtime=2))
    put(landing, "web/events_001_plain.ndjson", lines)

    run(con, landing, run_id="run-2")

    found = states(con, "run-2")
    assert found["web/events_001.ndjson.gz"][0] == "already_loaded"
    for copy in ("web/events_001_resent.ndjson.gz", "web/events_001_plain.ndjson"):
        state, reason = found[copy]
        assert state == "already_loaded"
        assert "same content as web/events_001.ndjson.gz" in reason
    assert con.execute("select count(*) from raw.web_events").fetchone() == (2,)


def test_a_latin1_header_is_rejected_naming_the_encoding(con, landing):
    header = ",".join(CRM_HEADER).replace("first_name", "first_näme")
    data = (header + "\n" + ",".join(crm_row(1)) + "\n").encode("latin-1")
    put(landing, "crm/contacts_latin1.csv", data)

    report = run(con, landing)

    state, reason = states(con)["crm/contacts_latin1.csv"]
    assert state == "rejected"
    assert reason.startswith("not UTF-8 encoded: the header row has byte 0xe4")
    assert "first_näme" in reason and "re-export the file as UTF-8" in reason
    assert "missing header row" not in reason
    assert report.rejected[0].reason == reason


def test_a_json_key_of_the_wrong_type_is_quarantined_by_a_named_rule(con, landing):
    put(
        landing,
        "web/events_001.ndjson.gz",
        gzip.compress(events_ndjson(event(1), {**event(2), "event_id": [1, 2]}, event(3))),
    )

    report = run(con, landing)

    assert report.loaded[0].rows_loaded == 2
    assert con.execute("select event_id from raw.web_events order by 1").fetchall() == [
        ("e1",),
        ("e3",),
    ]
    [(rules, extra, row)] = con.execute(
        "select failed_rules, _extra, _row_number from quarantine.web_events"
    ).fetchall()
    assert rules == ["event_id_json_type"] and row == 2
    kept = json.loads(extra)
    assert kept["parse_error"] == "event_id is a JSON ARRAY, not a string or number"
    assert json.loads(kept["raw_line"])["event_id"] == [1, 2]  # nothing lost


def test_an_unchanged_rejected_file_stays_rejected_with_its_reason(con, landing):
    put(landing, "crm/contacts_empty.csv", b"")
    run(con, landing)

    run(con, landing, run_id="run-2")

    state, reason = states(con, "run-2")["crm/contacts_empty.csv"]
    assert state == "rejected"
    assert reason.startswith("unchanged since rejected in run run-1: empty file")


def test_every_file_ends_in_exactly_one_state_and_a_rerun_records_them_again(con, landing):
    put(landing, "crm/contacts_001.csv", contacts_csv(1))
    put(landing, "crm/contacts_001.csv.gz", gzip.compress(contacts_csv(1)))
    put(landing, "crm/contacts_bad.csv", b"")
    put(landing, "crm/notes.txt", b"hello")
    put(landing, "shop/orders_semicolon.csv", b"order_id;ordered_at\n1;2026-01-01\n")
    files = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())

    first = run(con, landing)
    second = run(con, landing, run_id="run-2")

    for run_id, report in (("run-1", first), ("run-2", second)):
        recorded = con.execute(
            "select file_path, count(*) from audit.landing_files where run_id = ? group by 1",
            [run_id],
        ).fetchall()
        assert sorted(recorded) == [(f, 1) for f in files]
        assert sum(report.states().values()) == len(files)
    assert first.states() == {
        "loaded": 1,
        "already_loaded": 1,
        "rejected": 2,
        "unrecognised": 1,
    }
    assert second.states() == {
        "loaded": 0,
        "already_loaded": 2,
        "rejected": 2,
        "unrecognised": 1,
    }


def test_the_scorecard_report_lists_unrecognised_files(con, landing, tmp_path):
    from python_models.quality.publish import publish_scorecard

    put(landing, "crm/contacts_001.csv", contacts_csv(1))
    put(landing, "erp/invoices_001.csv", b"invoice_id\n1\n")
    run(con, landing)

    page = publish_scorecard(con, tmp_path / "scorecard.html").report_path.read_text()

    assert "Unrecognised landing files (1), never loaded" in page
    assert "erp/invoices_001.csv" in page and "is no source system" in page

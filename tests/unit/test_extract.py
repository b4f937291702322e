"""Loading landing files into raw: once per content, nothing lost, bad files named and kept.

Every test builds a tiny landing dir in tmp_path and its own DuckDB file; the quality package's
`quarantine_load` is replaced by a recording fake so these tests only exercise the extract.
"""

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from python_models.contract import CONTRACT as SOURCES
from python_models.extract import load_landing_dir

CRM_HEADER = SOURCES["crm_contacts"].column_names


def crm_row(n: int) -> list[str]:
    return [
        f"C{n}", "Ann", "Lee", f"ann{n}@example.com", "+441130000000", "1 High St", "Leeds",
        "LS1 1AA", "GB", "1990-01-01", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
    ]  # fmt: skip


def write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_contacts(landing: Path, name: str, first: int, count: int) -> Path:
    rows = [crm_row(n) for n in range(first, first + count)]
    return write_csv(landing / "crm" / name, CRM_HEADER, rows)


def event(n: int, **extra: object) -> dict:
    return {
        "event_id": f"e{n}",
        "event_name": "product_view",
        "anonymous_id": f"a{n}",
        "user_id": None,
        "session_id": "s1",
        "device": "mobile",
        "channel": "organic",
        "utm_source": None,
        "utm_campaign": None,
        "occurred_at": "2026-10-01T12:00:00Z",
        "properties": {"product_id": "p1", "price": 19.99},
        **extra,
    }


def write_events(landing: Path, name: str, lines: list[str]) -> Path:
    path = landing / "web" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return path


class FakeQuarantine:
    """Stands in for python_models.quality.quarantine.quarantine_load; records its calls."""

    def __init__(self, returns: int = 0, fail: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.returns = returns
        self.fail = fail

    def __call__(self, con: duckdb.DuckDBPyConnection, table: str, load_id: str) -> int:
        self.calls.append((table, load_id))
        if self.fail:
            raise RuntimeError("rules engine down")
        return self.returns


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, landing: Path, **kwargs):
    kwargs.setdefault("quarantine", FakeQuarantine())
    return load_landing_dir(con, landing, **kwargs)


def rows(con: duckdb.DuckDBPyConnection, query: str, *params: object) -> list[tuple]:
    return con.execute(query, list(params)).fetchall()


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return rows(con, f"select count(*) from {table}")[0][0]


# --- loading and metadata --------------------------------------------------------------------


def test_a_csv_lands_as_varchar_with_the_contract_metadata(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=3)

    report = load(con, landing, run_id="run-1")

    [outcome] = report.loaded
    assert outcome.rows_loaded == 3
    types = dict(rows(con, "select column_name, column_type from (describe raw.crm_contacts)"))
    assert {types[c] for c in CRM_HEADER} == {"VARCHAR"}
    assert types["_row_number"] == "BIGINT" and types["_extra"] == "JSON"
    loaded = rows(
        con,
        "select crm_id, _load_id, _source_file, _row_number, _loaded_at is not null, _extra "
        "from raw.crm_contacts order by _row_number",
    )
    load_id = loaded[0][1]
    assert load_id.startswith("crm-") and len(load_id) == len("crm-") + 12
    assert loaded == [
        ("C1", load_id, "crm/contacts_001.csv", 1, True, None),
        ("C2", load_id, "crm/contacts_001.csv", 2, True, None),
        ("C3", load_id, "crm/contacts_001.csv", 3, True, None),
    ]
    audit = rows(con, "select source, file_path, rows_read, rows_loaded, status, run_id "
                      "from audit.load_audit")  # fmt: skip
    assert audit == [("crm", "crm/contacts_001.csv", 3, 3, "loaded", "run-1")]


def test_ndjson_values_are_read_as_text_and_properties_stay_json(con, landing):
    write_events(landing, "events_001.ndjson.gz", [json.dumps(event(1))])

    load(con, landing, source="web")

    [(event_id, user_id, properties)] = rows(
        con, "select event_id, user_id, properties from raw.web_events"
    )
    assert (event_id, user_id) == ("e1", None)
    assert json.loads(properties) == {"product_id": "p1", "price": 19.99}


def test_column_order_in_the_file_does_not_matter(con, landing):
    header = list(reversed(CRM_HEADER))
    write_csv(landing / "crm" / "contacts_001.csv", header, [list(reversed(crm_row(7)))])

    load(con, landing)

    assert rows(con, "select crm_id, email, city from raw.crm_contacts") == [
        ("C7", "ann7@example.com", "Leeds")
    ]


# --- exactly once ---------------------------------------------------------------------------


def test_loading_twice_changes_nothing(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=3)
    write_events(landing, "events_001.ndjson.gz", [json.dumps(event(1)), json.dumps(event(2))])
    load(con, landing, run_id="first")
    before = (
        count(con, "raw.crm_contacts"),
        count(con, "raw.web_events"),
        rows(con, "select * from audit.load_audit order by load_id"),
    )

    second = load(con, landing, run_id="second")

    assert [f.status for f in second.files] == ["already_loaded", "already_loaded"]
    after = (
        count(con, "raw.crm_contacts"),
        count(con, "raw.web_events"),
        rows(con, "select * from audit.load_audit order by load_id"),
    )
    assert after == before


def test_a_new_file_is_the_only_one_loaded(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=3)
    load(con, landing)
    write_contacts(landing, "contacts_002.csv", first=4, count=2)

    report = load(con, landing)

    assert [(f.file_path, f.status) for f in report.files] == [
        ("crm/contacts_001.csv", "already_loaded"),
        ("crm/contacts_002.csv", "loaded"),
    ]
    assert count(con, "raw.crm_contacts") == 5
    assert count(con, "audit.load_audit") == 2


def test_the_same_content_under_another_name_is_not_loaded_again(con, landing):
    original = write_contacts(landing, "contacts_001.csv", first=1, count=3)
    load(con, landing)
    (landing / "crm" / "contacts_001_copy.csv").write_bytes(original.read_bytes())

    report = load(con, landing)

    assert [f.status for f in report.files] == ["already_loaded", "already_loaded"]
    assert count(con, "raw.crm_contacts") == 3


# --- bad files ------------------------------------------------------------------------------


def _truncated_gzip(path: Path) -> None:
    lines = [json.dumps(event(n)) for n in range(2000)]
    data = gzip.compress("\n".join(lines).encode())
    path.write_bytes(data[: len(data) // 2])


BAD_FILES = {
    "wrong delimiter": (
        "crm/contacts_bad.csv",
        lambda p: p.write_text(";".join(CRM_HEADER) + "\n" + ";".join(crm_row(9)) + "\n"),
        "wrong delimiter",
    ),
    "missing header": (
        "crm/contacts_bad.csv",
        lambda p: p.write_text(",".join(crm_row(8)) + "\n" + ",".join(crm_row(9)) + "\n"),
        "missing header row",
    ),
    "latin-1 bytes": (
        "crm/contacts_bad.csv",
        lambda p: p.write_bytes(
            (
                ",".join(CRM_HEADER) + "\n" + ",".join(crm_row(9)).replace("Ann", "Zoé") + "\n"
            ).encode("latin-1")
        ),
        "not UTF-8",
    ),
    "empty file": ("crm/contacts_bad.csv", lambda p: p.write_bytes(b""), "empty file"),
    "truncated gzip": ("web/events_bad.ndjson.gz", _truncated_gzip, "truncated gzip"),
    "empty gzip": (
        "web/events_bad.ndjson.gz",
        lambda p: p.write_bytes(gzip.compress(b"")),
        "empty file",
    ),
    "not gzip at all": (
        "web/events_bad.ndjson.gz",
        lambda p: p.write_text(json.dumps(event(1))),
        "gzip",
    ),
    "unparseable JSON": (
        "web/events_bad.ndjson.gz",
        lambda p: p.write_bytes(gzip.compress(b"[{'event_id': 1},\n {'event_id': 2}]\n")),
        "not valid NDJSON",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_malformed_file_is_rejected_with_a_reason_and_the_rest_still_loads(con, landing, kind):
    relative, make, reason_fragment = BAD_FILES[kind]
    bad = landing / relative
    bad.parent.mkdir(parents=True, exist_ok=True)
    make(bad)
    content = bad.read_bytes()
    write_contacts(landing, "contacts_001.csv", first=1, count=2)
    write_events(landing, "events_001.ndjson.gz", [json.dumps(event(1))])

    report = load(con, landing)

    [rejected] = report.rejected
    assert rejected.file_path == relative
    assert reason_fragment in rejected.reason
    assert relative in report.summary() and reason_fragment in report.summary()
    assert rows(con, "select file_path, reason from audit.rejected_files") == [
        (relative, rejected.reason)
    ]
    assert bad.read_bytes() == content  # left in place, untouched
    assert count(con, "raw.crm_contacts") == 2 and count(con, "raw.web_events") == 1
    assert rows(con, "select count(*) from audit.load_audit where file_path = ?", relative) == [
        (0,)
    ]


def test_a_rejected_file_is_retried_only_when_its_content_changes(con, landing):
    bad = landing / "crm" / "contacts_001.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(";".join(CRM_HEADER) + "\n" + ";".join(crm_row(1)) + "\n")
    load(con, landing)

    unchanged = load(con, landing)
    assert [f.status for f in unchanged.files] == ["unchanged_rejected"]
    assert count(con, "audit.rejected_files") == 1

    write_contacts(landing, "contacts_001.csv", first=1, count=1)  # fixed in place
    fixed = load(con, landing)
    assert [f.status for f in fixed.files] == ["loaded"]
    assert count(con, "raw.crm_contacts") == 1


# --- columns --------------------------------------------------------------------------------


def test_an_unknown_extra_column_is_kept_in_extra_and_reported(con, landing):
    header = [*CRM_HEADER[:3], "loyalty_hint", *CRM_HEADER[3:]]
    row = crm_row(1)
    write_csv(landing / "crm" / "contacts_001.csv", header, [[*row[:3], "L-42", *row[3:]]])

    [outcome] = load(con, landing).loaded

    assert outcome.extra_columns == ("loyalty_hint",)
    assert "loyalty_hint" in outcome.describe()
    [(extra, email)] = rows(con, "select _extra, email from raw.crm_contacts")
    assert json.loads(extra) == {"loyalty_hint": "L-42"} and email == "ann1@example.com"
    assert rows(con, "select extra_columns from audit.load_audit") == [(["loyalty_hint"],)]


def test_an_unknown_json_key_is_kept_in_extra_with_its_value(con, landing):
    write_events(landing, "events_001.ndjson.gz", [json.dumps(event(1, ab_test={"arm": "B"}))])

    [outcome] = load(con, landing).loaded

    assert outcome.extra_columns == ("ab_test",)
    [(extra,)] = rows(con, "select _extra from raw.web_events")
    assert json.loads(extra) == {"ab_test": {"arm": "B"}}


def test_a_missing_required_column_rejects_the_file_naming_it(con, landing):
    header = [c for c in CRM_HEADER if c != "updated_at"]
    write_csv(landing / "crm" / "contacts_001.csv", header, [crm_row(1)[:-1]])

    [rejected] = load(con, landing).rejected

    assert "missing required column(s): updated_at" in rejected.reason
    assert count(con, "raw.crm_contacts") == 0


def test_a_required_json_key_absent_from_every_line_rejects_the_file(con, landing):
    lines = [json.dumps({k: v for k, v in event(n).items() if k != "occurred_at"}) for n in (1, 2)]
    write_events(landing, "events_001.ndjson.gz", lines)

    [rejected] = load(con, landing).rejected

    assert "occurred_at" in rejected.reason
    assert count(con, "raw.web_events") == 0


def test_a_missing_optional_column_loads_as_null_and_is_reported(con, landing):
    header = [c for c in CRM_HEADER if c != "birth_date"]
    row = [v for c, v in zip(CRM_HEADER, crm_row(1), strict=True) if c != "birth_date"]
    write_csv(landing / "crm" / "contacts_001.csv", header, [row])

    [outcome] = load(con, landing).loaded

    assert outcome.missing_columns == ("birth_date",)
    assert rows(con, "select crm_id, birth_date from raw.crm_contacts") == [("C1", None)]


# --- broken rows ----------------------------------------------------------------------------


def test_broken_csv_rows_are_quarantined_whole_and_the_counts_reconcile(con, landing):
    good = [",".join(crm_row(n)) for n in range(1, 6)]
    too_few = ",".join(crm_row(90)[:5])
    too_many = ",".join([*crm_row(91), "surplus"])
    lines = [good[0], too_few, good[1], good[2], too_many, good[3], good[4]]
    path = landing / "crm" / "contacts_001.csv"
    path.parent.mkdir()
    path.write_text(",".join(CRM_HEADER) + "\n" + "\n".join(lines) + "\n")
    data_rows_in_file = len(lines)

    [outcome] = load(con, landing).loaded

    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == (7, 5, 2)
    assert outcome.rows_read == data_rows_in_file == outcome.rows_loaded + outcome.rows_rejected
    assert rows(con, "select rows_read, rows_loaded, rows_rejected from audit.load_audit") == [
        (7, 5, 2)
    ]
    # row numbers are positions in the file, whichever rows broke
    assert rows(con, "select crm_id, _row_number from raw.crm_contacts order by 2") == [
        ("C1", 1), ("C2", 3), ("C3", 4), ("C4", 6), ("C5", 7),
    ]  # fmt: skip
    quarantined = rows(
        con,
        "select _row_number, failed_rules, _extra ->> '$.raw_line', _load_id = ? "
        "from quarantine.crm_contacts order by 1",
        outcome.load_id,
    )
    assert quarantined == [
        (2, ["unparseable_row"], too_few, True),
        (5, ["unparseable_row"], too_many, True),
    ]


def test_broken_json_lines_are_quarantined_with_their_text(con, landing):
    lines = [json.dumps(event(1)), '{"event_id": "e2", "event_name": ', json.dumps(event(3))]
    write_events(landing, "events_001.ndjson.gz", lines)

    [outcome] = load(con, landing).loaded

    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == (3, 2, 1)
    assert rows(con, "select event_id, _row_number from raw.web_events order by 2") == [
        ("e1", 1),
        ("e3", 3),
    ]
    assert rows(
        con, "select _row_number, failed_rules, _extra ->> '$.raw_line' from quarantine.web_events"
    ) == [(2, ["unparseable_row"], lines[1])]


def test_a_file_that_is_mostly_broken_rows_is_rejected_not_quarantined(con, landing):
    path = landing / "crm" / "contacts_001.csv"
    path.parent.mkdir()
    broken = [",".join(crm_row(n)[:4]) for n in range(5)]
    path.write_text(",".join(CRM_HEADER) + "\n" + ",".join(crm_row(1)) + "\n" + "\n".join(broken))

    [rejected] = load(con, landing).rejected

    assert "5 of 6 rows could not be parsed" in rejected.reason
    assert count(con, "raw.crm_contacts") == 0 and count(con, "quarantine.crm_contacts") == 0


# --- quality hook ---------------------------------------------------------------------------


def test_the_quality_rules_run_on_each_new_load_and_their_count_is_audited(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=3)
    quarantine = FakeQuarantine(returns=2)

    [outcome] = load(con, landing, quarantine=quarantine).loaded

    assert quarantine.calls == [("crm_contacts", outcome.load_id)]
    assert outcome.rows_quarantined == 2
    assert rows(con, "select rows_quarantined from audit.load_audit") == [(2,)]
    load(con, landing, quarantine=quarantine)
    assert len(quarantine.calls) == 1  # nothing new, nothing re-evaluated


def test_a_failed_quality_run_leaves_no_half_load_and_the_file_loads_next_time(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=3)

    with pytest.raises(RuntimeError, match="rules engine down"):
        load(con, landing, quarantine=FakeQuarantine(fail=True))
    assert count(con, "raw.crm_contacts") == 0 and count(con, "audit.load_audit") == 0

    [outcome] = load(con, landing).loaded
    assert outcome.rows_loaded == 3 and count(con, "raw.crm_contacts") == 3


def test_a_load_interrupted_before_its_final_audit_is_redone_cleanly(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=3)
    load(con, landing)
    # what a crash between the two transactions leaves behind
    con.execute("update audit.load_audit set status = 'pending'")

    [outcome] = load(con, landing).loaded

    assert outcome.rows_loaded == 3
    assert count(con, "raw.crm_contacts") == 3
    assert rows(con, "select status from audit.load_audit") == [("loaded",)]


def test_quoted_commas_newlines_and_hash_values_are_data(con, landing):
    row = crm_row(1)
    row[5] = '"Flat 2, 1 High St"'
    row[6] = '"Leeds\nWest Yorkshire"'
    hashed = crm_row(2)
    hashed[0] = "#2"
    broken = ",".join(crm_row(3)[:3])
    path = landing / "crm" / "contacts_001.csv"
    path.parent.mkdir()
    body = [",".join(row), ",".join(hashed), broken, ",".join(crm_row(4))]
    path.write_text(",".join(CRM_HEADER) + "\n" + "\n".join(body) + "\n")

    assert len(load(con, landing).loaded) == 1

    assert rows(
        con, "select crm_id, street, city, _row_number from raw.crm_contacts order by 4"
    ) == [
        ("C1", "Flat 2, 1 High St", "Leeds\nWest Yorkshire", 1),
        ("#2", "1 High St", "Leeds", 2),
        ("C4", "1 High St", "Leeds", 4),
    ]
    assert rows(con, "select _row_number from quarantine.crm_contacts") == [(3,)]


def test_an_unclosed_quote_rejects_the_file_with_a_hint(con, landing):
    path = landing / "crm" / "contacts_001.csv"
    path.parent.mkdir()
    row = crm_row(1)
    row[5] = '"1 High St'
    path.write_text(",".join(CRM_HEADER) + "\n" + ",".join(row) + "\n" + ",".join(crm_row(2)))

    [rejected] = load(con, landing).rejected

    assert "not parseable as CSV" in rejected.reason and "unclosed quote" in rejected.reason


def test_a_header_only_csv_is_an_empty_extract_not_an_error(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=0)

    [outcome] = load(con, landing).loaded

    assert (outcome.rows_read, outcome.rows_loaded) == (0, 0)


def test_a_parquet_source_loads_as_text_with_file_row_numbers(con, landing, tmp_path):
    from python_models.contract import RawTable

    table = RawTable(
        source="erp",
        table="erp_invoices",
        glob="erp/invoices_*.parquet",
        format="parquet",
        columns=("invoice_id", "amount"),
        required=("invoice_id",),
        natural_key=("invoice_id",),
    )
    (landing / "erp").mkdir()
    target = landing / "erp" / "invoices_001.parquet"
    con.execute(
        f"copy (select 'i' || i as invoice_id, i * 1.5 as amount, i % 2 = 0 as paid "
        f"from range(1, 4) t(i)) to '{target}' (format parquet)"
    )

    [outcome] = load(con, landing, tables=[table]).loaded

    assert (outcome.rows_loaded, outcome.extra_columns) == (3, ("paid",))
    assert rows(
        con, "select invoice_id, amount, _row_number, _extra from raw.erp_invoices order by 3"
    ) == [
        ("i1", "1.5", 1, '{"paid":false}'),
        ("i2", "3.0", 2, '{"paid":true}'),
        ("i3", "4.5", 3, '{"paid":false}'),
    ]


def test_the_command_line_loads_prints_the_report_and_fails_on_rejections(
    tmp_path, landing, monkeypatch, run_cli
):
    from orchestration.cli import extract as cli

    quarantine = FakeQuarantine()
    monkeypatch.setattr(cli, "quarantine_load", quarantine)
    write_contacts(landing, "contacts_001.csv", first=1, count=2)
    warehouse = tmp_path / "cli.duckdb"
    args = ["extract", "--landing", landing, "--warehouse", warehouse]

    first = run_cli(*args)
    assert first.exit_code == 0, first.output
    assert "loaded crm/contacts_001.csv into raw.crm_contacts: 2 rows loaded" in first.stdout

    (landing / "crm" / "contacts_002.csv").write_bytes(b"")
    second = run_cli(*args)
    assert second.exit_code == 1
    assert "REJECTED crm/contacts_002.csv: empty file" in second.stdout
    assert run_cli("extract", "--source", "ftp").exit_code == 2  # named, not guessed
    assert [table for table, _ in quarantine.calls] == ["crm_contacts"]  # the CLI hands it in


def test_a_misnamed_file_is_reported_not_silently_ignored(con, landing):
    write_contacts(landing, "contacts_001.csv", first=1, count=1)
    write_contacts(landing, "Contacts-002.CSV", first=2, count=1)
    (landing / "crm" / ".uploading.tmp").write_text("partial")

    report = load(con, landing)

    assert [u.file_path for u in report.unrecognised] == [
        "crm/.uploading.tmp",
        "crm/Contacts-002.CSV",
    ]
    assert "UNRECOGNISED crm/Contacts-002.CSV: matches no landing pattern" in report.summary()
    assert count(con, "raw.crm_contacts") == 1

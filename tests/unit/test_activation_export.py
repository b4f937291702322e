"""Audience exports on a small warehouse: suppression, formats, limits, deltas, atomicity."""

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from python_models.activation.destinations import DESTINATIONS
from python_models.activation.export import ExportRequest, export_audience
from python_models.activation.files import sha256_of
from tests.support.activation import AS_OF, Person, audience, build_marts


def _read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.decode("utf-8")  # UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


def _run(con, tmp_path, run_id, aud=None, as_of=AS_OF):
    return export_audience(
        con, ExportRequest(aud or audience(), run_id, as_of, tmp_path / "exports")
    )


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_only_consented_valid_unsuppressed_addresses_are_exported(con, tmp_path):
    people = [
        Person("c_ok", "ann@example.com"),
        Person("c_withdrawn", "wd@example.com", email_consent="withdrawn"),
        Person("c_never", "nv@example.com", email_consent="no_consent"),
        Person("c_other_address", "primary@example.com", granted_email=None),
        Person("c_invalid", "not-an-email"),
        Person("c_no_email", None),
        Person("c_bounce", "bounce@example.com"),
        Person("c_complaint", "Complaint@Example.com"),
        Person("c_dupe_a", "shared@example.com"),
        Person("c_dupe_b", "shared@example.com"),
        Person("c_not_member", "member@example.com", segments=("other",)),
    ]
    build_marts(
        con,
        people,
        suppressions=[
            ("bounce@example.com", "hard_bounce"),
            (" complaint@example.com", "complaint"),
        ],
    )
    result = _run(con, tmp_path, "r1")
    rows = _read_csv(result.folder / "vip.csv")
    assert sorted(r["Email Address"] for r in rows) == ["ann@example.com", "shared@example.com"]
    excluded = result.manifest["excluded_by_reason"]
    assert excluded["consent_withdrawn"] == 1
    assert excluded["no_consent"] == 1
    assert excluded["address_not_consented"] == 1
    assert excluded["invalid_email"] == 1
    assert excluded["no_email"] == 1
    assert excluded["suppressed_hard_bounce"] == 1
    assert excluded["suppressed_complaint"] == 1
    assert excluded["duplicate_email"] == 1
    counts = result.manifest["counts"]
    assert counts["members"] == 10
    assert counts["members"] == counts["exported"] + sum(excluded.values())
    table = con.execute("select email from exports.export_vip order by 1").fetchall()
    assert [r[0] for r in table] == ["ann@example.com", "shared@example.com"]
    parquet = con.execute(
        f"select count(*) from read_parquet('{result.folder / 'vip.parquet'}')"
    ).fetchone()[0]
    assert parquet == 2


def test_mailchimp_header_limits_tags_and_formula_neutralisation(con, tmp_path):
    long_name = "Å" * 200  # 400 bytes in UTF-8: over Mailchimp's 255
    people = [
        Person(
            "c1", "a@example.com", given_name='=HYPERLINK("http://x","y")', family_name=long_name
        ),
        Person("c2", "b@example.com", given_name="@SUM(A1)", family_name="-1+2"),
        Person(
            "c3", "c@example.com", given_name="Bea", country="United Kingdom", phone="07700 900001"
        ),
    ]
    build_marts(con, people)
    aud = audience(
        fields=["first_name", "last_name", "phone", "country"], tags=["vip", "retention, q4"]
    )
    result = _run(con, tmp_path, "r1", aud)
    text = (result.folder / "vip.csv").read_bytes()
    assert text.startswith(b"Email Address,First Name,Last Name,Phone Number,Country,Tags\r\n")
    rows = {r["Email Address"]: r for r in _read_csv(result.folder / "vip.csv")}
    assert rows["a@example.com"]["First Name"].startswith("'=HYPERLINK")
    assert rows["b@example.com"]["First Name"] == "'@SUM(A1)"
    assert rows["b@example.com"]["Last Name"] == "'-1+2"
    assert len(rows["a@example.com"]["Last Name"].encode()) <= 255
    assert rows["a@example.com"]["Last Name"] == "Å" * 127
    assert rows["c@example.com"]["Country"] == ""  # not a 2-letter code: dropped
    assert rows["c@example.com"]["Phone Number"] == ""  # not E.164: dropped
    assert rows["a@example.com"]["Phone Number"] == "+447700900001"
    assert rows["a@example.com"]["Tags"] == 'vip,"retention, q4"'
    rules = result.manifest["value_rules"]
    assert rules["neutralised_formula_values"] == 3
    assert rules["truncated_over_limit:Last Name"] == 1
    assert rules["dropped_invalid_country:Country"] == 1
    assert rules["dropped_invalid_phone:Phone Number"] == 1
    # the warehouse table keeps the value, not the CSV guard
    name = con.execute("select first_name from exports.export_vip where customer_key = 'c2'")
    assert name.fetchone()[0] == "@SUM(A1)"


def test_klaviyo_and_braze_headers(con, tmp_path):
    build_marts(con, [Person("c1", "a@example.com")])
    k = _run(con, tmp_path, "k1", audience(name="vip_k", destination="klaviyo", tags=[]))
    assert (
        (k.folder / "vip_k.csv")
        .read_bytes()
        .startswith(b"Email,Email Marketing Consent,First Name,Last Name,rfm_segment\r\n")
    )
    b = _run(con, tmp_path, "b1", audience(name="vip_b", destination="braze", tags=[]))
    lines = (b.folder / "vip_b.csv").read_text().splitlines()
    assert lines[0] == "external_id,email,email_subscribe,first_name,last_name,rfm_segment"
    assert lines[1] == "c1,a@example.com,opted_in,Ann,Lee,Champions"


def test_klaviyo_files_are_split_under_the_size_limit(con, tmp_path, monkeypatch):
    people = [Person(f"c{i:04d}", f"user{i:04d}@example.com") for i in range(400)]
    build_marts(con, people)
    small = DESTINATIONS["klaviyo"].__class__(
        **{**DESTINATIONS["klaviyo"].__dict__, "max_file_bytes": 8_000}
    )
    monkeypatch.setitem(DESTINATIONS, "klaviyo", small)
    result = _run(con, tmp_path, "k1", audience(name="vip_k", destination="klaviyo", tags=[]))
    parts = sorted(result.folder.glob("vip_k_part*.csv"))
    assert len(parts) >= 3
    seen = []
    for part in parts:
        assert part.stat().st_size <= 8_000
        rows = _read_csv(part)
        seen += [r["Email"] for r in rows]
    assert len(seen) == 400 == len(set(seen))  # every row once, no duplicates


def test_personalisation_fields_are_empty_without_consent_and_missing_models_are_named(
    con, tmp_path
):
    build_marts(
        con,
        [Person("c1", "a@example.com"), Person("c2", "b@example.com", personalisation=False)],
    )
    aud = audience(fields=["first_name", "rfm_segment", "churn_risk_band", "recommended_products"])
    result = _run(con, tmp_path, "r1", aud)
    rows = {r["Email Address"]: r for r in _read_csv(result.folder / "vip.csv")}
    assert rows["a@example.com"]["RFM Segment"] == "Champions"
    assert rows["b@example.com"]["RFM Segment"] == ""
    assert rows["b@example.com"]["First Name"] == "Ann"  # contact data, not profiling
    assert set(result.manifest["fields_without_model"]) == {
        "churn_risk_band",
        "recommended_products",
    }
    assert rows["a@example.com"]["Churn Risk"] == ""
    # once the recommender has run, the names appear, best first
    build_marts(
        con,
        [Person("c1", "a@example.com"), Person("c2", "b@example.com", personalisation=False)],
        recommendations=[
            ("c1", 2, "p2"),
            ("c1", 1, "p1"),
            ("c1", 3, "p3"),
            ("c1", 4, "p4"),
            ("c2", 1, "p1"),
        ],
    )
    result = _run(con, tmp_path, "r2", aud)
    rows = {r["Email Address"]: r for r in _read_csv(result.folder / "vip.csv")}
    assert [rows["a@example.com"][f"Product {i}"] for i in (1, 2, 3)] == [
        "Walking boots",
        "Rain jacket",
        "Wool socks",
    ]
    assert rows["b@example.com"]["Product 1"] == ""
    assert set(result.manifest["fields_without_model"]) == {"churn_risk_band"}


def test_deltas_over_three_runs(con, tmp_path):
    base = [
        Person("c1", "a@example.com"),
        Person("c2", "b@example.com"),
        Person("c3", "c@example.com"),
    ]
    build_marts(con, base)
    first = _run(con, tmp_path, "run-1")
    assert first.manifest["counts"]["added"] == 3
    assert first.manifest["previous_run_id"] is None

    # run 2: c3 leaves the segment, c4 enters, c2's name changes
    build_marts(
        con,
        [
            Person("c1", "a@example.com"),
            Person("c2", "b@example.com", given_name="Bee"),
            Person("c3", "c@example.com", segments=()),
            Person("c4", "d@example.com"),
        ],
    )
    second = _run(con, tmp_path, "run-2")
    assert second.manifest["previous_run_id"] == "run-1"
    assert [r["Email Address"] for r in _read_csv(second.folder / "added.csv")] == ["d@example.com"]
    changed = _read_csv(second.folder / "changed.csv")
    assert [(r["Email Address"], r["First Name"]) for r in changed] == [("b@example.com", "Bee")]
    assert _read_csv(second.folder / "removed.csv") == [
        {"Email Address": "c@example.com", "removal_reason": "left_audience"}
    ]

    # run 3: c1 withdraws consent; nothing else changes
    build_marts(
        con,
        [
            Person("c1", "a@example.com", email_consent="withdrawn"),
            Person("c2", "b@example.com", given_name="Bee"),
            Person("c4", "d@example.com"),
        ],
    )
    third = _run(con, tmp_path, "run-3")
    assert third.manifest["counts"]["added"] == 0
    assert third.manifest["counts"]["changed"] == 0
    assert _read_csv(third.folder / "removed.csv") == [
        {"Email Address": "a@example.com", "removal_reason": "consent_withdrawn"}
    ]
    # older runs' files are untouched
    assert [r["Email Address"] for r in _read_csv(first.folder / "vip.csv")] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]


def test_rerunning_a_run_id_is_idempotent(con, tmp_path):
    build_marts(con, [Person("c1", "a@example.com")])
    first = _run(con, tmp_path, "r1")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    again = _run(con, tmp_path, "r1")
    assert again.reused
    assert {p.name: p.read_bytes() for p in again.folder.iterdir()} == before
    runs = con.execute("select count(*) from exports.export_runs").fetchone()[0]
    assert runs == 1


def test_manifest_lists_every_file_with_its_sha256(con, tmp_path):
    build_marts(con, [Person("c1", "a@example.com"), Person("c2", "b@example.com")])
    result = _run(con, tmp_path, "r1")
    manifest = json.loads((result.folder / "manifest.json").read_text())
    names = {f["name"] for f in manifest["files"]}
    assert names == {"vip.csv", "vip.parquet", "added.csv", "changed.csv", "removed.csv"}
    for entry in manifest["files"]:
        assert sha256_of(result.folder / entry["name"]) == entry["sha256"]
    assert {f["name"]: f["rows"] for f in manifest["files"]}["vip.csv"] == 2
    for key in ("audience", "definition_hash", "run_id", "generated_at"):
        assert manifest[key]


CRASHING_EXPORT = textwrap.dedent("""
    import os, signal, sys
    import duckdb
    import python_models.activation.files as files
    from python_models.activation.export import ExportRequest, export_audience
    from tests.support.activation import AS_OF, Person, audience, build_marts

    real_replace = os.replace
    def crash_mid_file(src, dst):
        # the writer dies half way through the first file: half of it on disk, no rename
        data = open(src, "rb").read()
        open(src, "wb").write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    files.os.replace = crash_mid_file
    con = duckdb.connect(sys.argv[1])
    build_marts(con, [Person(f"c{i}", f"u{i}@example.com") for i in range(50)])
    out = __import__("pathlib").Path(sys.argv[2])
    export_audience(con, ExportRequest(audience(), "r1", AS_OF, out))
""")


def test_a_writer_killed_mid_file_leaves_no_complete_looking_file(tmp_path, project_root):
    warehouse = tmp_path / "w.duckdb"
    out = tmp_path / "exports"
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_EXPORT)
    proc = subprocess.run(
        [sys.executable, str(script), str(warehouse), str(out)],
        cwd=project_root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project_root)},
    )
    assert proc.returncode == -9, proc.stderr
    folder = out / "vip" / "r1"
    assert not (folder / "manifest.json").exists()
    assert not (folder / "vip.csv").exists()  # only the temporary name was written
    assert any(p.name.endswith(".tmp") for p in folder.iterdir())

    con = duckdb.connect(str(warehouse))
    result = export_audience(con, ExportRequest(audience(), "r1", AS_OF, out))
    assert not result.reused
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert result.manifest["cleaned_up_from_crashed_attempt"]
    rows = _read_csv(folder / "vip.csv")
    assert len(rows) == 50
    for entry in result.manifest["files"]:
        assert sha256_of(folder / entry["name"]) == entry["sha256"]


def test_recommended_products_come_from_the_recommenders_table_in_rank_order(con, tmp_path):
    people = [Person("c1", "a@example.com"), Person("c2", "b@example.com", personalisation=False)]
    build_marts(con, people)
    aud = audience(destination="braze", fields=["first_name", "recommended_products"])
    missing = _run(con, tmp_path, "before-model", aud)
    assert "recommended_products" in missing.manifest["fields_without_model"]
    before = {r["external_id"]: r for r in _read_csv(missing.folder / "vip.csv")}
    assert before["c1"]["recommended_product_1"] == ""

    # the table as python_models/predictions writes it: names on the table, best rank first
    con.execute("""
        create or replace table models.customer_recommendations as
        select * from (values
            ('c1', 1, 'p9', 'Zip-off trousers', 0.9, 'bought together', 'hybrid', true),
            ('c1', 3, 'p2', 'Rain jacket', 0.5, 'similar', 'hybrid', true),
            ('c1', 2, 'p7', 'Alpine tent', 0.7, 'similar', 'hybrid', true),
            ('c1', 4, 'p1', 'Walking boots', 0.4, 'popular', 'popularity', true),
            ('c2', 1, 'p1', 'Walking boots', 0.9, 'popular', 'popularity', false)
        ) as t(customer_key, rank, product_id, product_name, score, reason, source,
               is_personalized)
    """)
    result = _run(con, tmp_path, "after-model", aud)
    rows = {r["external_id"]: r for r in _read_csv(result.folder / "vip.csv")}
    assert [rows["c1"][f"recommended_product_{i}"] for i in (1, 2, 3)] == [
        "Zip-off trousers",
        "Alpine tent",
        "Rain jacket",
    ]
    assert [rows["c2"][f"recommended_product_{i}"] for i in (1, 2, 3)] == ["", "", ""]
    assert result.manifest["fields_without_model"] == {}
    assert result.manifest["counts"]["changed"] == 1  # c1's products arrived

"""Erasure end to end on the committed sample's landing files: erase, verify, re-extract
the original files into a rebuilt raw layer (and a re-delivery under a new name), verify
again; the person must not come back, and every blocked row is counted in the load audit."""

import shutil
from pathlib import Path

import duckdb
import pytest

from python_models.extract import load_landing_dir
from python_models.privacy.erasure import erase
from python_models.privacy.requests import make_request
from python_models.privacy.tombstones import MissingPrivacyKey
from python_models.privacy.verify import verify_erasure

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"
KEY = b"integration-test-key-0123456789-0123"


def no_quarantine(con: duckdb.DuckDBPyConnection, table: str, load_id: str) -> int:
    return 0


def test_an_erased_person_does_not_come_back_from_a_re_extract(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    load_landing_dir(con, landing, quarantine=no_quarantine, tombstone_key=KEY)
    email, crm_id = con.execute(
        "select c.email, c.crm_id from raw.crm_contacts as c "
        "join raw.shop_orders as o on lower(o.customer_email) = lower(c.email) "
        "join raw.consent_events as e on lower(e.identifier) = lower(c.email) "
        "where c.email like '%@gmail.com' order by c.crm_id limit 1"
    ).fetchone()
    local, _, _ = email.lower().partition("@")
    spelled = f"{local[:2]}.{local[2:]}+erase@GoogleMail.com".upper()  # the same mailbox
    request = [make_request("E2E-1", "email", spelled), make_request("E2E-1", "crm_id", crm_id)]

    (result,) = erase(con, request, key=KEY, run_id="e2e")
    assert result.outcome == "erased"
    assert {"raw.crm_contacts", "raw.shop_orders", "raw.consent_events"} <= set(
        result.rows_by_table
    )
    erased_raw = sum(n for t, n in result.rows_by_table.items() if t.startswith("raw."))
    assert verify_erasure(con, request, key=KEY).clean

    # A rebuild from the landing files: raw and the load audit gone, tombstones kept.
    for (table,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ).fetchall():
        con.execute(f"delete from raw.{table}")
    con.execute("delete from audit.load_audit")
    with pytest.raises(MissingPrivacyKey, match="CUSTOMER360_PRIVACY_KEY"):
        load_landing_dir(con, landing, source="crm", quarantine=no_quarantine)
    report = load_landing_dir(con, landing, quarantine=no_quarantine, tombstone_key=KEY)
    assert report.total("rows_blocked") == erased_raw
    blocked = con.execute(
        "select raw_table, sum(rows_blocked) from audit.load_audit "
        "where rows_blocked > 0 group by 1 order by 1"
    ).fetchall()
    assert {t for t, _ in blocked} >= {"crm_contacts", "shop_orders", "consent_events"}
    assert verify_erasure(con, request, key=KEY).clean

    # A re-delivery under a new name (new content, so a new load) is blocked too.
    original = next((landing / "crm").glob("contacts_*.csv"))
    redelivered = landing / "crm" / "contacts_2026-12-01.csv"
    redelivered.write_text(original.read_text().replace("\n", "\r\n"))
    again = load_landing_dir(
        con, landing, source="crm", quarantine=no_quarantine, tombstone_key=KEY
    )
    (loaded,) = again.loaded
    assert loaded.rows_blocked == 1 and "1 blocked by erasure tombstones" in loaded.describe()
    assert verify_erasure(con, request, key=KEY).clean


def test_an_unparseable_line_of_an_erased_person_is_blocked_on_re_extract(tmp_path: Path) -> None:
    """A line no reader can split goes to quarantine with its raw text; a re-extract must not
    put an erased person's line back there (it is blocked and counted like a raw row)."""
    landing = tmp_path / "landing"
    (landing / "crm").mkdir(parents=True)
    header = (SAMPLE / "crm" / "contacts_2026-11-01.csv").read_text().splitlines()[:6]
    email = header[1].split(",")[3]
    # The erased person's address also sits in a ragged line (too many fields).
    broken = f"C99999999999,Lee,{email},a,b,c,d,e,f,g,h,i,j,k,l,m"
    (landing / "crm" / "contacts_2026-11-01.csv").write_text("\n".join([*header, broken]) + "\n")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    first = load_landing_dir(con, landing, quarantine=no_quarantine, tombstone_key=KEY)
    assert first.total("rows_rejected") == 1
    request = [make_request("E2E-2", "email", email)]
    (result,) = erase(con, request, key=KEY, run_id="e2e")
    assert result.outcome == "erased"
    assert verify_erasure(con, request, key=KEY).clean

    for schema in ("raw", "quarantine"):
        con.execute(f"delete from {schema}.crm_contacts")
    con.execute("delete from audit.load_audit")
    again = load_landing_dir(con, landing, quarantine=no_quarantine, tombstone_key=KEY)
    (loaded,) = again.loaded
    assert (loaded.rows_blocked, loaded.rows_rejected) == (2, 0)
    assert con.execute("select count(*) from quarantine.crm_contacts").fetchone() == (0,)
    assert con.execute(
        "select rows_blocked, rows_rejected from audit.load_audit where load_id = ?",
        [loaded.load_id],
    ).fetchone() == (2, 0)
    assert verify_erasure(con, request, key=KEY).clean

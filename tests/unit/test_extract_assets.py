"""The extract multi-assets: one per source system, raw + quarantine specs, useful metadata."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.extract import assets as extract_assets
from orchestration.defs.extract.assets import EXTRACT_ASSETS
from orchestration.defs.extract.live import CrmApiResource
from python_models.contract import CONTRACT as SOURCES


def test_each_source_system_has_one_asset_with_raw_and_quarantine_specs():
    by_name = {a.node_def.name: a for a in EXTRACT_ASSETS}
    assert sorted(by_name) == sorted(f"extract_{s}" for s in {t.source for t in SOURCES.values()})
    shop_keys = {k.to_user_string() for k in by_name["extract_shop"].keys}
    assert shop_keys == {
        "raw/shop_orders",
        "quarantine/shop_orders",
        "raw/shop_order_lines",
        "quarantine/shop_order_lines",
        "raw/shop_customers",
        "quarantine/shop_customers",
    }
    for asset in EXTRACT_ASSETS:
        assert asset.op.pool == "duckdb"
        for spec in asset.specs:
            assert spec.group_name == "extract"
            assert spec.kinds == {"duckdb", "python"}


def test_materialising_crm_loads_the_landing_dir_and_reports_rejections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = tmp_path / "landing"
    (landing / "crm").mkdir(parents=True)
    header = ",".join(SOURCES["crm_contacts"].column_names)
    row = "C1,Ann,Lee,ann@example.com,+441,1 St,Leeds,LS1,GB,1990-01-01,2026-01-01,2026-01-02"
    (landing / "crm" / "contacts_001.csv").write_text(f"{header}\n{row}\n")
    (landing / "crm" / "contacts_002.csv").write_text("")
    monkeypatch.setenv("CUSTOMER360_LANDING_DIR", str(landing))
    handed_in: list[str] = []
    monkeypatch.setattr(
        extract_assets, "quarantine_load", lambda con, table, load_id: handed_in.append(table) or 0
    )
    warehouse = tmp_path / "warehouse.duckdb"
    crm = next(a for a in EXTRACT_ASSETS if a.node_def.name == "extract_crm")

    resources = {"duckdb": DuckDBResource(database=str(warehouse)), "crm_api": CrmApiResource()}
    result = dg.materialize([crm], resources=resources)

    assert result.success
    materialised = {
        m.asset_key.to_user_string(): m.metadata for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }  # fmt: skip
    raw = materialised["raw/crm_contacts"]
    assert raw["files_loaded"].value == 1 and raw["rows_loaded"].value == 1
    assert raw["files_rejected"].value == 1
    assert "contacts_002.csv" in raw["rejected_files"].value
    assert "empty file" in raw["rejected_files"].value
    assert materialised["quarantine/crm_contacts"]["dagster/row_count"].value == 0
    assert handed_in == ["crm_contacts"]  # the asset hands the quarantine step to the extract
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select count(*) from raw.crm_contacts").fetchall() == [(1,)]


def test_a_consent_load_is_recorded_in_the_privacy_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = tmp_path / "landing"
    (landing / "consent").mkdir(parents=True)
    header = ",".join(SOURCES["consent_events"].column_names)
    rows = [
        "CE1,ann@example.com,email,analytics,granted,2026-01-01T00:00:00Z,web",
        "CE2,ann@example.com,email,analytics,withdrawn,2026-02-01T00:00:00Z,web",
    ]
    (landing / "consent" / "consent_events_001.csv").write_text("\n".join([header, *rows]) + "\n")
    monkeypatch.setenv("CUSTOMER360_LANDING_DIR", str(landing))
    monkeypatch.setattr(extract_assets, "quarantine_load", lambda con, table, load_id: 0)
    warehouse = tmp_path / "warehouse.duckdb"
    consent = next(a for a in EXTRACT_ASSETS if a.node_def.name == "extract_consent")

    assert dg.materialize(
        [consent], resources={"duckdb": DuckDBResource(database=str(warehouse))}
    ).success
    with duckdb.connect(str(warehouse)) as con:
        logged = con.execute(
            "select event_type, rows_affected, rows_by_table::varchar, details::varchar "
            "from audit.privacy_log"
        ).fetchall()
    assert [(e, n) for e, n, _, _ in logged] == [("consent_change", 2)]
    assert "ann@example.com" not in logged[0][2] + logged[0][3]

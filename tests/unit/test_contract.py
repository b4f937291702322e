"""The raw contract is the one declaration: the dbt source yml, extract and quality follow it."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from python_models.contract import CONTRACT, SOURCE_SYSTEMS, Column, RawTable, Rule
from python_models.contract.dbt_sources import drift, render_source_yml, source_yml_path, sync

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def test_the_committed_dbt_source_yml_matches_the_contract():
    problems = drift(PROJECT_DIR)
    assert not problems, "\n".join(problems)


def test_every_raw_table_has_a_dbt_source_with_its_columns_in_file_order():
    for source in SOURCE_SYSTEMS:
        document = yaml.safe_load(source_yml_path(PROJECT_DIR, source).read_text())
        raw = next(s for s in document["sources"] if s["name"] == "raw")
        quarantine = next(s for s in document["sources"] if s["name"] == "quarantine")
        for table in raw["tables"]:
            spec = CONTRACT[table["name"]]
            names = [c["name"] for c in table["columns"]]
            assert names[: len(spec.columns)] == list(spec.column_names)
            assert table["description"] == spec.description
        assert {t["name"] for t in quarantine["tables"]} == {t["name"] for t in raw["tables"]}


def test_pii_tags_and_descriptions_reach_the_yml():
    document = yaml.safe_load(render_source_yml("crm"))
    [contacts] = document["sources"][0]["tables"]
    by_name = {c["name"]: c for c in contacts["columns"]}
    assert by_name["email"]["config"]["meta"]["pii"] is True
    assert by_name["birth_date"]["config"]["meta"] == {"pii": True, "parsed_type": "date"}
    assert "config" not in by_name["crm_id"]
    assert by_name["crm_id"]["description"] == "The CRM's contact id."
    pii = {c for c, v in by_name.items() if (v.get("config") or {}).get("meta", {}).get("pii")}
    assert pii == set(CONTRACT["crm_contacts"].pii_columns)


def test_a_drifted_yml_is_named_with_its_table_column_and_the_command(tmp_path: Path):
    sync(tmp_path)
    path = source_yml_path(tmp_path, "crm")
    path.write_text(path.read_text().replace("Street address.", "Street.", 1))

    [problem] = drift(tmp_path)

    assert "_crm__sources.yml" in problem and "raw.crm_contacts" in problem
    assert "column 'street' differs" in problem
    assert "customer360 contract sync" in problem
    assert sync(tmp_path) == [path] and drift(tmp_path) == []


def test_check_command_exits_1_on_drift_and_sync_repairs_it(tmp_path: Path, run_cli):
    sync(tmp_path)
    (tmp_path / "models/staging/web/_web__sources.yml").unlink()
    check = run_cli("contract", "check", "--project-dir", tmp_path)
    assert check.exit_code == 1 and "_web__sources.yml: missing" in check.stderr
    assert run_cli("contract", "sync", "--project-dir", tmp_path).exit_code == 0
    assert drift(tmp_path) == []
    assert run_cli("contract", "check", "--project-dir", tmp_path).exit_code == 0


def test_the_extract_does_not_import_the_quality_package():
    # the CLI (the caller, orchestration/cli) may import quality; the library must not.
    code = (
        "import sys, python_models.extract; "
        "print(sorted(m for m in sys.modules if m.startswith('python_models.quality')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_contract_entry_with_an_unknown_type_or_rule_column_is_refused():
    with pytest.raises(ValueError, match="type 'text' is not one of"):
        Column("a", "text")
    with pytest.raises(ValueError, match="rule 'b_required' names unknown columns"):
        RawTable(
            "x",
            "x_things",
            "x/*.csv",
            "csv",
            ("a",),
            ("a",),
            ("a",),
            rules=(Rule("b_required", "schema", "blocking", "required", ("b",)),),
        )


def test_freshness_verdicts_follow_dbts_thresholds_and_a_table_without_events_is_an_error():
    freshness = CONTRACT["crm_contacts"].freshness
    assert (freshness.warn_after_hours, freshness.error_after_hours) == (24, 168)
    assert [freshness.verdict(h) for h in (-3, 24, 24.01, 168, 168.5, None)] == [
        "pass", "pass", "warn", "warn", "error", "error",
    ]  # fmt: skip
    assert CONTRACT["catalog_products"].freshness is None

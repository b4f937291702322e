"""Erasure end to end through the real pipeline: erase a person from the built sample
warehouse, verify, re-extract the original landing files into an emptied raw layer, rebuild
dbt and identity with the pipeline's own assets, verify again. The person must not come back
(not their identifiers, not their customer key), and the blocked rows are in the load audit.

Starts from the session's built sample (a copy) and rebuilds only what the person's data
flows through: the extract, dbt's staging, intermediate and the marts that hold a person,
and identity resolution (the Python models are not retrained; they read those marts).
"""

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import materialize
from python_models.privacy.erasure import erase
from python_models.privacy.requests import make_request
from python_models.privacy.verify import verify_erasure

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"
KEY = "integration-test-key-0123456789-0123"
PERSON_MARTS = ("dim_customers", "customer_consent", "fct_orders")
REBUILD = (
    "(" + " or ".join(f'+key:"marts/{mart}"' for mart in PERSON_MARTS) + ") and not group:models"
)


def _copy_built_sample(built: Path, work: Path) -> Path:
    """The session's warehouse and its audience runs, copied so the erasure's `removed`
    files and deletes touch nothing another test reads."""
    warehouse = work / "warehouse.duckdb"
    shutil.copy(built, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        folders = [r[0] for r in con.execute("select folder from exports.export_runs").fetchall()]
        for folder in folders:
            source = Path(folder)
            target = work / "exports" / source.parent.name / source.name
            shutil.copytree(source, target, dirs_exist_ok=True)
            con.execute(
                "update exports.export_runs set folder = ? where folder = ?",
                [str(target), folder],
            )
    return warehouse


def test_an_erased_person_does_not_come_back_from_a_rebuild(
    sample_pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, built = sample_pipeline
    warehouse = _copy_built_sample(built, tmp_path)
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE, landing)
    for name, value in {
        "CUSTOMER360_WAREHOUSE": warehouse,
        "CUSTOMER360_LANDING_DIR": landing,
        "CUSTOMER360_EXPORT_DIR": tmp_path / "exports",
        "CUSTOMER360_PRIVACY_KEY": KEY,
    }.items():
        monkeypatch.setenv(name, str(value))

    with duckdb.connect(str(warehouse)) as con:
        email, crm_id, customer_key = con.execute("""
            select c.email, c.crm_id, g.customer_key
            from raw.crm_contacts as c
            join identity.identity_graph as g
                on g.source_system = 'crm' and g.source_record_id = c.crm_id
            join marts.fct_orders as o on o.customer_key = g.customer_key
            join marts.dim_customers as d on d.customer_key = g.customer_key
            where c.email like '%@gmail.com'
            order by c.crm_id limit 1
        """).fetchone()
        customers_before = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
        request = [make_request("E2E-2", "email", email.upper())]
        proof = [*request, make_request("E2E-2", "crm_id", crm_id)]
        proof.append(make_request("E2E-2", "customer_key", customer_key))
        (result,) = erase(con, request, key=KEY.encode(), run_id="e2e-rebuild")
        assert result.customer_keys == [customer_key]
        report = verify_erasure(con, proof, key=KEY.encode())
        assert report.clean, report.describe()
        # The landing files are re-extracted from scratch: raw, quarantine and the load
        # audit emptied (so every original file loads again); the tombstones stay.
        for schema in ("raw", "quarantine"):
            for (table,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? and table_type = 'BASE TABLE'",
                [schema],
            ).fetchall():
                con.execute(f'delete from {schema}."{table}"')
        con.execute("delete from audit.load_audit")

    rebuilt = materialize(REBUILD)
    assert rebuilt.success, [e.step_key for e in rebuilt.all_events if e.is_step_failure]
    built_keys = {e.asset_key.to_user_string() for e in rebuilt.get_asset_materialization_events()}
    assert {"raw/crm_contacts", "identity/identity_graph", "marts/dim_customers"} <= built_keys

    with duckdb.connect(str(warehouse), read_only=True) as con:
        blocked = dict(
            con.execute(
                "select raw_table, sum(rows_blocked) from audit.load_audit group by 1"
            ).fetchall()
        )
        customers_after = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
        report = verify_erasure(con, proof, key=KEY.encode())
    assert blocked["crm_contacts"] >= 1 and blocked["shop_orders"] >= 1
    assert 0 < customers_after < customers_before
    assert report.clean, report.describe()

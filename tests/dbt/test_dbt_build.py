"""What the dbt marts hold after `dbt build` (with all its data tests) ran in the pipeline.

The warehouse is the session's run of the whole pipeline on the committed sample
(`sample_pipeline` in tests/conftest.py): the dbt steps there run `dbt build`, so every data
and unit test in the yml ran too, and a failing one fails the pipeline. Edge cases (phone
formats, survivorship, consent, netting) are dbt unit tests in the models' yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

# builds a warehouse with dbt (about a minute on the sample): excluded from `make test-fast`
pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample"


@dataclass
class DbtWarehouse:
    path: Path


@pytest.fixture(scope="module")
def dbt_warehouse(sample_pipeline) -> DbtWarehouse:
    """The warehouse the real pipeline built from the sample (extract, dbt, identity, models)."""
    result, warehouse = sample_pipeline
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, f"pipeline failed at {failed}"
    return DbtWarehouse(warehouse)


def query(warehouse: DbtWarehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_dbt_build_makes_every_mart_with_rows(dbt_warehouse: DbtWarehouse) -> None:
    for mart in ("dim_customers", "fct_orders", "fct_order_lines", "fct_events", "dim_products"):
        (count,) = query(dbt_warehouse, f"select count(*) from marts.{mart}")[0]
        assert count > 0, f"marts.{mart} is empty"


def test_quarantined_rows_never_reach_staging(dbt_warehouse: DbtWarehouse) -> None:
    held_back = query(
        dbt_warehouse,
        "select count(*) from staging.stg_crm__contacts as s "
        "join quarantine.crm_contacts as q on s.crm_id = q.crm_id "
        "where q.released_at is null "
        "and not exists (select 1 from raw.crm_contacts r where r.crm_id = s.crm_id "
        "and not exists (select 1 from quarantine.crm_contacts q2 "
        "where q2._load_id = r._load_id and q2._row_number = r._row_number))",
    )[0][0]
    assert held_back == 0


def test_dim_customers_has_one_row_per_customer_key(dbt_warehouse: DbtWarehouse) -> None:
    customers, keys = query(
        dbt_warehouse,
        "select (select count(*) from marts.dim_customers), "
        "(select count(distinct customer_key) from identity.identity_graph)",
    )[0]
    assert customers == keys


def test_customer_revenue_adds_up_to_order_revenue(dbt_warehouse: DbtWarehouse) -> None:
    from_customers, from_orders = query(
        dbt_warehouse,
        "select (select sum(total_revenue_reporting) from marts.dim_customers), "
        "(select sum(net_amount_reporting) from marts.fct_orders where customer_key is not null)",
    )[0]
    assert from_customers == from_orders


def test_staging_normalises_contact_details(dbt_warehouse: DbtWarehouse) -> None:
    emails = query(
        dbt_warehouse,
        "select count(*) from staging.stg_crm__contacts where email <> lower(trim(email))",
    )[0][0]
    assert emails == 0
    bad_phones = query(
        dbt_warehouse,
        "select count(*) from intermediate.int_person_records_unioned "
        "where phone is not null and not regexp_full_match(phone, '\\+[1-9][0-9]{7,14}')",
    )[0][0]
    assert bad_phones == 0


def test_returns_are_netted_in_revenue(dbt_warehouse: DbtWarehouse) -> None:
    online_returned, store_return_positive, store_returns = query(
        dbt_warehouse,
        "select "
        "count(*) filter (where channel = 'online' and status in ('returned', 'cancelled') "
        "  and net_amount_reporting <> 0), "
        "count(*) filter (where channel = 'store' and is_return and net_amount_reporting >= 0), "
        "count(*) filter (where channel = 'store' and is_return) "
        "from marts.fct_orders",
    )[0]
    assert online_returned == 0, "returned/cancelled online orders must not count as revenue"
    assert store_return_positive == 0, "in-store returns must refund (negative net)"
    assert store_returns > 0, "the sample has in-store returns"


def test_golden_record_fields_are_clean(dbt_warehouse: DbtWarehouse) -> None:
    (not_listed, not_nfc, not_lower, customers_with_email, consented) = query(
        dbt_warehouse,
        "select "
        "count(*) filter (where primary_email is not null "
        "  and not list_contains(all_emails, primary_email)), "
        "count(*) filter (where given_name <> nfc_normalize(given_name) "
        "  or family_name <> nfc_normalize(family_name)), "
        "count(*) filter (where primary_email <> lower(trim(primary_email))), "
        "count(primary_email), "
        "count(*) filter (where consent_email_marketing) "
        "from marts.dim_customers",
    )[0]
    assert (not_listed, not_nfc, not_lower) == (0, 0, 0)
    assert customers_with_email > 0
    assert 0 < consented < customers_with_email

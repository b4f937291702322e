"""The Dagster extract assets read the live sources when their resources are configured."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.extract.assets import EXTRACT_ASSETS
from orchestration.defs.extract.live import CrmApiResource, ShopDatabaseResource
from python_models.sample_data.crm_api import ContactStore, CrmApiServer
from tests.support.postgres import reader_url

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"
TOKEN = "asset-test-token-77aa"


def test_shop_and_crm_assets_extract_from_live_sources(tmp_path: Path, shop_database) -> None:
    by_name = {a.node_def.name: a for a in EXTRACT_ASSETS}
    store = ContactStore.from_landing_dir(SAMPLE)
    with CrmApiServer(store, TOKEN) as api:
        result = dg.materialize(
            [by_name["extract_shop"], by_name["extract_catalog"], by_name["extract_crm"]],
            resources={
                "duckdb": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
                "shop_db": ShopDatabaseResource(url=reader_url(shop_database)),
                "crm_api": CrmApiResource(base_url=api.url, token=TOKEN),
            },
        )
    assert result.success
    metadata = {
        m.materialization.asset_key.to_user_string(): m.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    orders = metadata["raw/shop_orders"]
    assert orders["source_address"].value == "postgres:shop.orders"
    assert orders["rows_loaded"].value > 300 and orders["cursor_after"].value
    # the shop database also feeds the accounts (person records) and the catalogue
    assert metadata["raw/shop_customers"]["source_address"].value == "postgres:shop.customers"
    assert metadata["raw/shop_customers"]["rows_loaded"].value > 20
    assert metadata["raw/catalog_products"]["source_address"].value == "postgres:shop.products"
    assert metadata["raw/catalog_products"]["rows_loaded"].value > 10
    contacts = metadata["raw/crm_contacts"]
    assert contacts["rows_loaded"].value == len(store)
    assert TOKEN not in repr(metadata)
    logs = " ".join(str(e) for e in result.all_events)
    assert TOKEN not in logs

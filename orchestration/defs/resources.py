"""Resources shared by every asset: the one DuckDB warehouse, with the one memory limit.

Both come from `orchestration.settings` when the definitions load (never at import), so the
UI, the CLI and the tests point at whichever warehouse the environment names.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.extract.live import CrmApiResource, ShopDatabaseResource
from orchestration.settings import (
    CRM_API_TOKEN,
    CRM_API_URL,
    SHOP_DATABASE_URL,
    get_settings,
    is_set,
)


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    return dg.Definitions(
        resources={
            "duckdb": DuckDBResource(
                database=str(settings.warehouse),
                connection_config={"memory_limit": settings.duckdb_memory_limit},
            ),
            # the URL holds a password: EnvVar keeps it out of the UI and the run metadata
            "shop_db": ShopDatabaseResource(
                url=dg.EnvVar(SHOP_DATABASE_URL) if is_set(SHOP_DATABASE_URL) else ""
            ),
            "crm_api": CrmApiResource(
                base_url=dg.EnvVar(CRM_API_URL) if is_set(CRM_API_URL) else "",
                token=dg.EnvVar(CRM_API_TOKEN) if is_set(CRM_API_TOKEN) else "",
            ),
        }
    )

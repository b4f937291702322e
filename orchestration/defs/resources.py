"""Resources shared by every asset: the one DuckDB warehouse, with the one memory limit.

Both come from `orchestration.settings` when the definitions load (never at import), so the
UI, the CLI and the tests point at whichever warehouse the environment names.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from orchestration.defs.extract.live import CrmApiResource, ShopDatabaseResource
from orchestration.settings import (
    AS_OF_TAG,
    CRM_API_TOKEN,
    CRM_API_URL,
    SHOP_DATABASE_URL,
    get_settings,
    is_set,
)
from python_models.warehouse import set_as_of


class WarehouseResource(DuckDBResource):
    """The DuckDB resource whose every connection carries the run's as_of (the run's
    `customer360/as_of` tag, else CUSTOMER360_AS_OF): the one "now" of the quality rules,
    the scorecard and the dbt models of that run."""

    _as_of: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.dagster_run
        self._as_of = run.tags.get(AS_OF_TAG) if run is not None else None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().get_connection() as con:
            set_as_of(con, self._as_of or get_settings().as_of)
            yield con


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    return dg.Definitions(
        resources={
            "duckdb": WarehouseResource(
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

"""Live sources in the extract step: the shop from PostgreSQL, the CRM from its REST API.

The `shop`, `catalog` and `crm` multi-assets own the same `raw/*` and `quarantine/*` assets as
the file extract. The shop database feeds two of them: `extract_shop` reads its orders, lines
and accounts, `extract_catalog` its products (each with its own dlt dataset and state, so each
asset writes only the tables it owns). When the source's resource is configured
(`CUSTOMER360_SHOP_DATABASE_URL`,
`CUSTOMER360_CRM_API_URL` + `CUSTOMER360_CRM_API_TOKEN`, read by the resources through
`dg.EnvVar`), the asset extracts from the live source instead of the landing folder; without
them it loads landing files exactly as before, so `make demo` is unchanged.
"""

from collections.abc import Callable, Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.extract.assets import (
    extract_specs,
    load_source_files,
    partitions_for,
    quarantine_key,
    raw_key,
)
from orchestration.settings import get_settings
from python_models.contract import CONTRACT, tables_for
from python_models.extract.live.crm_api import CrmApiConfig, extract_crm_contacts
from python_models.extract.live.landing import LiveSourceError, TableOutcome
from python_models.extract.live.postgres import (
    SHOP_TABLES,
    PostgresExtractConfig,
    ShopTable,
    extract_shop_database,
)


def shop_tables_for(source: str) -> tuple[ShopTable, ...]:
    """The shop-database tables whose raw table belongs to `source` (shop, catalog)."""
    owned = {t.table for t in tables_for(source)}
    return tuple(t for t in SHOP_TABLES if t.raw_table in owned)


class ShopDatabaseResource(dg.ConfigurableResource):
    """The shop's PostgreSQL database; an empty `url` means "load shop files instead"."""

    url: str = ""
    db_schema: str = "shop"
    backend: str = "connectorx"
    lag_seconds: float = 600.0
    reconcile_deletes: bool = True
    reconcile_interval_seconds: float = 0.0

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def extract_config(self, source: str = "shop") -> PostgresExtractConfig:
        """The extract of the tables `source` owns; dlt keeps each source's state apart."""
        return PostgresExtractConfig(
            database_url=self.url,
            tables=shop_tables_for(source),
            dataset="shop_db" if source == "shop" else f"shop_db_{source}",
            schema=self.db_schema,
            backend=self.backend,  # type: ignore[arg-type]
            lag_seconds=self.lag_seconds,
            reconcile_deletes=self.reconcile_deletes,
            reconcile_interval_seconds=self.reconcile_interval_seconds,
            tombstone_key=get_settings().privacy_key(),
        )


class CrmApiResource(dg.ConfigurableResource):
    """The CRM's REST API; an empty `base_url` means "load CRM files instead".

    The token is a secret: set it with `dg.EnvVar("CUSTOMER360_CRM_API_TOKEN")` so the UI
    shows the variable's name, never its value.
    """

    base_url: str = ""
    token: str = ""
    page_size: int = 100
    max_attempts: int = 8

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    def extract_config(self) -> CrmApiConfig:
        if not self.token:
            raise dg.Failure(
                description="CUSTOMER360_CRM_API_URL is set but CUSTOMER360_CRM_API_TOKEN is "
                "not: set the CRM API token (or unset the URL to load CRM files)."
            )
        return CrmApiConfig(
            base_url=self.base_url,
            token=self.token,
            page_size=self.page_size,
            max_attempts=self.max_attempts,
            tombstone_key=get_settings().privacy_key(),
        )


def _live_results(con, outcomes: list[TableOutcome]) -> Iterator[dg.MaterializeResult]:
    for outcome in outcomes:
        table = CONTRACT[outcome.raw_table]
        raw_rows = con.execute(f"select count(*) from raw.{table.table}").fetchone()[0]
        held = con.execute(
            f"select count(*) from quarantine.{table.table} where released_at is null"
        ).fetchone()[0]
        yield dg.MaterializeResult(
            asset_key=raw_key(table),
            metadata={**outcome.metadata(), "dagster/row_count": int(raw_rows)},
        )
        yield dg.MaterializeResult(
            asset_key=quarantine_key(table),
            metadata={
                "rows_quarantined": outcome.rows_quarantined,
                "dagster/row_count": int(held),
            },
        )


def run_live_extract(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    extract: Callable[..., list[TableOutcome]],
) -> Iterator[dg.MaterializeResult]:
    """Run one live extract (`extract(con, run_id)`); its failures fail the run, clearly."""
    with duckdb.get_connection() as con:
        try:
            outcomes = extract(con, context.run_id)
        except LiveSourceError as exc:
            raise dg.Failure(description=str(exc)) from None
        for outcome in outcomes:
            context.log.info(outcome.describe())
        yield from _live_results(con, outcomes)


def build_shop_asset(source: str = "shop") -> dg.AssetsDefinition:
    read = ", ".join(t.source_table for t in shop_tables_for(source))

    @dg.multi_asset(
        name=f"extract_{source}",
        specs=extract_specs(source),
        pool="duckdb",
        # by delivery day for landing files; a live extract takes what changed since its
        # watermark, whatever the partition (the partition is then the day it ran)
        partitions_def=partitions_for(source),
        description=(
            f"Extract the shop database's {read} "
            "from PostgreSQL (dlt, incremental by updated_at, hard deletes by key "
            f"reconciliation) when CUSTOMER360_SHOP_DATABASE_URL is set; otherwise load "
            f"`{source}` landing files."
        ),
    )
    def _extract(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, shop_db: ShopDatabaseResource
    ) -> Iterator[dg.MaterializeResult]:
        if not shop_db.configured:
            yield from load_source_files(context, duckdb, source)
            return
        config = shop_db.extract_config(source)
        yield from run_live_extract(
            context,
            duckdb,
            lambda con, run_id: extract_shop_database(con, config, run_id=run_id).tables,
        )

    return _extract


def build_crm_asset(source: str = "crm") -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"extract_{source}",
        specs=extract_specs(source),
        pool="duckdb",
        description="Extract CRM contacts from the CRM's REST API (cursor pagination, "
        "modified-since watermark kept in the warehouse, retries 429/5xx) when "
        "CUSTOMER360_CRM_API_URL is set; otherwise load `crm` landing files.",
    )
    def _extract(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, crm_api: CrmApiResource
    ) -> Iterator[dg.MaterializeResult]:
        if not crm_api.configured:
            yield from load_source_files(context, duckdb, source)
            return
        config = crm_api.extract_config()
        yield from run_live_extract(
            context,
            duckdb,
            lambda con, run_id: [extract_crm_contacts(con, config, run_id=run_id)],
        )

    return _extract


LIVE_BUILDERS: dict[str, Callable[[str], dg.AssetsDefinition]] = {
    "shop": build_shop_asset,
    "catalog": build_shop_asset,
    "crm": build_crm_asset,
}

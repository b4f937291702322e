"""The analyst snapshot: the last step of a run publishes what analysts read.

After the marts, the data-quality tables and the model outputs are built, this asset copies
the analyst schemas into a read-only DuckDB file beside the warehouse and swaps it in by
atomic rename (`python_models.publish`), so analysts' connections never block a run and never
see a half-built one (docs/decisions/0011-analyst-snapshot-and-run-lock.md).
"""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.transform.dbt import prepared_dbt_project
from orchestration.settings import AS_OF_TAG, get_settings
from python_models.publish import publish_snapshot

SNAPSHOT_KEY = dg.AssetKey(["published", "analyst_snapshot"])
QUALITY_KEYS = [
    dg.AssetKey(["dq", name]) for name in ("dq_scorecard", "dq_volume_anomalies", "dq_outliers")
]


def mart_keys() -> list[dg.AssetKey]:
    """Every dbt model in schema `marts`, from the manifest: the snapshot comes after them."""
    manifest = json.loads(prepared_dbt_project().manifest_path.read_text())
    return sorted(
        (
            dg.AssetKey(["marts", node["name"]])
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
        ),
        key=lambda key: key.path,
    )


def build_snapshot_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=SNAPSHOT_KEY,
        deps=[*mart_keys(), *QUALITY_KEYS],
        group_name="publish",
        kinds={"duckdb", "python"},
        pool="duckdb",
        description="A read-only copy of marts, identity, models, dq, audit, exports and "
        "reference for analysts (`<warehouse>_analyst.duckdb`, DuckDB storage v1.5.0, readable "
        "by the DuckDB 1.5 CLI), swapped in by atomic rename after each run.",
    )
    def analyst_snapshot(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource
    ) -> dg.MaterializeResult:
        settings = get_settings()
        with duckdb.get_connection() as con:
            result = publish_snapshot(
                con,
                settings.analyst_snapshot,
                run_id=context.run_id,
                as_of=context.run.tags.get(AS_OF_TAG, settings.as_of),
            )
        context.log.info(result.describe())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(result.path)),
                "tables": result.tables,
                "rows": result.rows,
                "seconds": result.seconds,
                "megabytes": round(result.bytes / 1e6, 1),
            }
        )

    return analyst_snapshot


@dg.definitions
def publish_definitions() -> dg.Definitions:
    return dg.Definitions(assets=[build_snapshot_asset()])

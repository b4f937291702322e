"""The dbt project as Dagster assets.

Every dbt model, seed and snapshot is an asset keyed by the warehouse table it builds
(`["staging", "stg_crm__contacts"]`, `["marts", "dim_customers"]`), and every dbt source by
the table it reads (`["raw", "crm_contacts"]`, `["identity", "identity_graph"]`), which are
exactly the keys of the Python assets that write those tables: lineage runs from extract
through dbt and the Python models without any hand-kept mapping.

The manifest is prepared lazily, when the definitions load (as dagster's docs projects do
with a cached `DbtProject` + `prepare_if_dev`), never when this module is imported: here
`dbt parse` runs in every entry point (dg dev, the CLI, tests) but only when the manifest is
stale, so one preparation path serves them all.
"""

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.settings import AS_OF_TAG, DBT_PROJECT_DIR, get_settings
from python_models.transform import (
    dbt_executable,
    ensure_manifest,
    is_transient_failure,
    summarise_dbt_failure,
    summarise_freshness,
)


@functools.cache
def prepared_dbt_project() -> DbtProject:
    """The dbt project with a current manifest (`dbt parse` if stale), once per process."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    ensure_manifest(DBT_PROJECT_DIR, env=get_settings().subprocess_env())
    return project


class WarehouseTableTranslator(DagsterDbtTranslator):
    """Groups dbt assets by their layer (staging, intermediate, marts, reference)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema")
        return schema or super().get_group_name(dbt_resource_props)


def source_freshness_args(as_of: str) -> list[str]:
    """`dbt source freshness` of the raw sources, judged at the run's as_of."""
    return ["source", "freshness", "--select", "source:raw", "--vars", json.dumps({"as_of": as_of})]


def check_source_freshness(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, as_of: str
) -> None:
    """`dbt source freshness` on the raw sources before staging is built from them.

    Freshness is the raw contract's: the age of each table's newest event at the run's as_of
    (the scorecard's `dq.dq_source_freshness` gives the same verdicts). A source past its
    `warn_after` is logged; past its `error_after` the step fails, naming the source and how
    old its newest event is, so stale data never flows on silently.
    """
    invocation = dbt.cli(source_freshness_args(as_of), raise_on_error=False)
    invocation.wait()
    freshness = summarise_freshness(invocation.get_artifact("sources.json").get("results", []))
    for warning in freshness.warnings:
        context.log.warning(warning)
    if freshness.errors:
        # Stale data does not get fresher by retrying: fail at once.
        raise dg.Failure(description="\n".join(freshness.errors), allow_retries=False)
    context.log.info(f"dbt source freshness: {freshness.checked} raw sources checked")


def release_dbt_duckdb(adapter: Any) -> None:
    """Close the warehouse that dbt-duckdb opened in this process to fetch the metadata.

    dbt-duckdb keeps one DuckDB database open per process (a class-level environment), with
    its own configuration; left open, every later step of an in-process run (the CLI's)
    fails with "Can't open a connection to same database file with a different
    configuration", and another process could not write the warehouse.
    """
    if adapter is None:
        return
    adapter.cleanup_connections()
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    """One `@dbt_assets` over the project's manifest, in the single-writer pool."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=WarehouseTableTranslator(),
        pool="duckdb",
    )
    def customer360_dbt_assets(
        context: dg.AssetExecutionContext, dbt: DbtCliResource
    ) -> Iterator[Any]:
        """`dbt build` of the selected models: run, then test, each model in DAG order.

        "Now" is the run's `customer360/as_of` tag (set by the daily schedule) or else
        CUSTOMER360_AS_OF, so scheduled runs move segment history forward day by day.
        """
        as_of = context.run.tags.get(AS_OF_TAG, get_settings().as_of)
        if any(key.path[0] == "staging" for key in context.selected_asset_keys):
            check_source_freshness(context, dbt, as_of)
        # Cautious: a test runs only in the subset that builds all of its parents, so a
        # relationship test never runs before the model it points at exists.
        args = ["build", "--indirect-selection", "cautious", "--vars", json.dumps({"as_of": as_of})]
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        # Row counts and column schemas with lineage for the UI. With DuckDB, dagster-dbt
        # waits for dbt to exit before it queries, so dbt's write lock is never contended,
        # and the queries run inside this step, which holds the "duckdb" pool.
        try:
            yield from invocation.stream().fetch_row_counts().fetch_column_metadata()
        finally:
            release_dbt_duckdb(invocation.adapter)
        error = invocation.get_error()
        if error is not None:
            # A held lock is worth the job's retry policy; a failed model or test is not.
            raise dg.Failure(
                description=summarise_dbt_failure(str(error)),
                allow_retries=is_transient_failure(str(error)),
            )

    return customer360_dbt_assets


@dg.definitions
def transform() -> dg.Definitions:
    project = prepared_dbt_project()
    # The venv's dbt, found even when the venv is not on PATH (`.venv/bin/python -m ...`).
    return dg.Definitions(
        assets=[build_dbt_assets(project)],
        resources={"dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable())},
    )

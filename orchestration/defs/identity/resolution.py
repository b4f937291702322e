"""Identity resolution as one Dagster multi-asset, plus the checks that guard its output.

The asset is a thin shell around `python_models.identity.pipeline.resolve_identities`: it
reads `intermediate.int_person_records_unioned`, links, clusters and keys the records, and
writes every `identity.*` table in one transaction (then appends the run to
`identity_runs`), so the six assets materialise together. The checks read the written graph.
"""

import typing
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import BaseModel, Field, create_model

from orchestration.settings import get_settings
from python_models.identity.config import IdentityConfig, MatchConfig
from python_models.identity.pipeline import DEFAULT_INPUT_TABLE, resolve_identities
from python_models.identity.store import GRAPH

# dbt model key under the project's translator (schema, table), as for other dbt inputs
PERSON_RECORDS_KEY = dg.AssetKey(["intermediate", "int_person_records_unioned"])
GRAPH_KEY = dg.AssetKey(["identity", "identity_graph"])
LINKS_KEY = dg.AssetKey(["identity", "identity_links"])
QUEUE_KEY = dg.AssetKey(["identity", "identity_review_queue"])
MERGES_KEY = dg.AssetKey(["identity", "identity_merges"])
SPLITS_KEY = dg.AssetKey(["identity", "identity_splits"])
RUNS_KEY = dg.AssetKey(["identity", "identity_runs"])
KINDS = {"duckdb", "python"}

DESCRIPTIONS = {
    GRAPH_KEY: "One row per person record: its stable customer_key, link method, confidence.",
    LINKS_KEY: "Every link considered in the latest run (deterministic, fuzzy, rejected).",
    QUEUE_KEY: "Record pairs a person should decide on: uncertain matches, over-limit clusters.",
    MERGES_KEY: "History: customer keys absorbed into an older key when their records joined.",
    SPLITS_KEY: "History: records that left a customer key for another customer.",
    RUNS_KEY: "History: one row per resolution run, with its sizes, candidate pairs, timings.",
}


def _launchpad_type(annotation: Any) -> Any:
    """Dagster config has lists, not tuples: `tuple[str, ...]` is offered as `list[str]`."""
    if typing.get_origin(annotation) is tuple:
        return list[typing.get_args(annotation)[0]]
    return annotation


def _config_fields(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of a library settings model, with the library's own default and
    description: the one default lives in `python_models.identity.config`."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "matching":
            continue
        default = info.get_default(call_default_factory=True)
        if isinstance(default, tuple):
            default = list(default)
        fields[name] = (
            _launchpad_type(info.annotation),
            Field(default=default, description=info.description),
        )
    return fields


MatchingRunConfig = create_model(
    "MatchingRunConfig",
    __base__=dg.Config,
    __doc__="The matcher's settings (see `python_models.identity.config.MatchConfig`).",
    **_config_fields(MatchConfig),
)


class IdentityResolutionConfig(
    create_model("_IdentityFields", __base__=dg.Config, **_config_fields(IdentityConfig))
):
    """Run-time knobs: every field of `IdentityConfig`, the matcher's under `matching`;
    defaults are the production settings."""

    matching: MatchingRunConfig = Field(default_factory=MatchingRunConfig)  # type: ignore[valid-type]

    def identity_config(self) -> IdentityConfig:
        values = self.model_dump()
        matching = MatchConfig(**values.pop("matching"))
        return IdentityConfig(**values, matching=matching)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            deps=[PERSON_RECORDS_KEY],
            group_name="identity",
            kinds=KINDS,
            description=description,
        )
        for key, description in DESCRIPTIONS.items()
    ],
    pool="duckdb",
)
def identity_resolution(
    context: dg.AssetExecutionContext,
    config: IdentityResolutionConfig,
    duckdb: DuckDBResource,
) -> Iterator[dg.MaterializeResult]:
    """Resolve person records into customers with stable keys (see docs/architecture.md)."""
    with duckdb.get_connection() as con:
        report = resolve_identities(
            con, context.run_id, get_settings().as_of, config=config.identity_config()
        )
    context.log.info(f"identity resolution: {report.as_metadata()}")
    shared = {
        "run_id": report.run_id,
        "seconds": dg.MetadataValue.float(round(report.seconds, 2)),
    }
    per_asset = {
        GRAPH_KEY: {
            "records": report.records,
            "clusters": report.clusters,
            "largest_cluster": report.largest_cluster,
            "new_keys": report.new_keys,
            "kept_keys": report.kept_keys,
            "records_removed": report.records_removed,
            "stage_seconds": dg.MetadataValue.json(report.stage_seconds),
            "dagster/row_count": report.records,
        },
        LINKS_KEY: {
            "links_by_rule": dg.MetadataValue.json(report.links_by_rule),
            "links_by_decision": dg.MetadataValue.json(report.links_by_decision),
            "shared_values": report.shared_values,
            "shared_devices": report.shared_devices,
            "fuzzy_status": report.fuzzy_status,
            "candidate_pairs": report.candidate_pairs,
            "guards": dg.MetadataValue.json(report.guards),
            "dagster/row_count": sum(report.links_by_decision.values()),
        },
        QUEUE_KEY: {
            "review_queue": report.review_queue,
            "guarded_clusters": report.guarded_clusters,
            "dagster/row_count": report.review_queue,
        },
        MERGES_KEY: {"merges": report.merges},
        SPLITS_KEY: {"splits": report.splits},
        RUNS_KEY: {
            "cpu_seconds": dg.MetadataValue.float(round(report.cpu_seconds, 2)),
            "candidate_pairs_per_second": round(report.candidate_pairs_per_second),
            "fuzzy_step_seconds": dg.MetadataValue.json(report.fuzzy_step_seconds),
        },
    }
    for key, metadata in per_asset.items():
        yield dg.MaterializeResult(asset_key=key, metadata={**shared, **metadata})


def graph_problems_sql(input_table: str, max_cluster_records: int) -> str:
    """Counts of the graph's broken promises (all should be zero)."""
    return f"""
select
    (select count(*) from {input_table} as i
        anti join {GRAPH} as g using (source_system, source_record_id))
        as records_without_key,
    (select count(*) from (
        select source_system, source_record_id from {GRAPH}
        group by all having count(distinct customer_key) > 1 or count(*) > 1))
        as records_with_several_keys,
    (select count(*) from (
        select customer_key from {GRAPH} group by all having count(*) > {max_cluster_records}))
        as keys_over_cluster_limit,
    (select count(*) from {GRAPH}
        where not regexp_full_match(customer_key, 'c_[0-9a-f]{{12}}'))
        as malformed_keys
"""


@dg.asset_check(asset=GRAPH_KEY, blocking=True, pool="duckdb")
def every_record_has_exactly_one_key(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every person record has one well-formed key and no key exceeds the cluster limit."""
    limit = IdentityConfig().max_cluster_records
    with duckdb.get_connection() as con:
        cursor = con.execute(graph_problems_sql(DEFAULT_INPUT_TABLE, limit))
        names = [d[0] for d in cursor.description]
        counts = dict(zip(names, cursor.fetchall()[0], strict=True))
    return dg.AssetCheckResult(
        passed=all(v == 0 for v in counts.values()),
        metadata={**counts, "max_cluster_records": limit},
    )

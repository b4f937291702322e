"""K-Means micro-segments as Dagster assets: `models.customer_clusters` and `cluster_profiles`.

The asset is a thin shell: `python_models.clustering.pipeline.run_segmentation` decides
whether to retrain (model age, feature drift, or `force_retrain`), trains on a sample,
scores every customer in batches and writes `models.customer_clusters`,
`models.cluster_profiles` and, when it trained, a `models.model_runs` row. The checks read
the written tables: every featured customer has a cluster, and no cluster is empty.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.models import models_connection
from orchestration.settings import get_settings
from python_models.clustering.model import ClusteringParams
from python_models.clustering.pipeline import (
    FEATURES_TABLE,
    SegmentationResult,
    SegmentationSettings,
    run_segmentation,
)
from python_models.clustering.policy import RetrainPolicy

FEATURES_KEY = dg.AssetKey(["intermediate", "int_customer_features"])
CONSENT_KEY = dg.AssetKey(["intermediate", "int_customer_consent_current"])
CLUSTERS_KEY = dg.AssetKey(["models", "customer_clusters"])
PROFILES_KEY = dg.AssetKey(["models", "cluster_profiles"])
KINDS = {"python", "scikit-learn", "duckdb"}


class CustomerClustersConfig(dg.Config):
    """Run-time knobs; the defaults are the production settings."""

    force_retrain: bool = False
    model_dir: str | None = None  # default: <CUSTOMER360_MODEL_DIR>/clustering (settings)
    train_sample_size: int = 100_000
    k_min: int = 3
    k_max: int = 10
    min_cluster_share: float = 0.005  # smaller clusters make a k unusable
    max_model_age_days: float = 30.0
    max_mean_shift: float = 0.25

    def settings(self) -> SegmentationSettings:
        return SegmentationSettings(
            model_dir=(
                Path(self.model_dir) if self.model_dir else get_settings().clustering_model_dir
            ),
            train_sample_size=self.train_sample_size,
            force_retrain=self.force_retrain,
            params=ClusteringParams(
                k_min=self.k_min, k_max=self.k_max, min_cluster_share=self.min_cluster_share
            ),
            policy=RetrainPolicy(
                max_age_days=self.max_model_age_days, max_mean_shift=self.max_mean_shift
            ),
        )


def _profiles_markdown(result: SegmentationResult) -> str:
    model = result.model
    lines = ["| id | label | customers | top rule |", "|---|---|---|---|"]
    for cid in sorted(int(c) for c in model.cluster_ids):
        rule = (model.rules.get(cid) or [""])[0].replace("|", "/")
        lines.append(f"| {cid} | {model.labels.get(cid, '')} | {result.sizes[cid]} | {rule} |")
    return "\n".join(lines)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CLUSTERS_KEY,
            deps=[FEATURES_KEY, CONSENT_KEY],
            group_name="models",
            kinds=KINDS,
            description="Each customer's micro-segment (stable id), label and centroid distance.",
        ),
        dg.AssetSpec(
            PROFILES_KEY,
            deps=[FEATURES_KEY, CONSENT_KEY],
            group_name="models",
            kinds=KINDS,
            description="One row per micro-segment: size, centroid in business units, rules.",
        ),
    ],
    pool="duckdb",
)
def customer_clusters(
    context: dg.AssetExecutionContext, config: CustomerClustersConfig, duckdb: DuckDBResource
) -> Iterator[dg.MaterializeResult]:
    """Assign every customer to a micro-segment, retraining the model when the policy says so."""
    with models_connection(duckdb) as con:
        result = run_segmentation(con, config.settings(), run_id=context.run_id)
    model = result.model
    inertia, silhouette = model.selection.as_dicts()
    context.log.info(
        "%s: %s (k=%d, %s)",
        "retrained" if result.decision.retrain else "assigned",
        result.decision.reason,
        model.k,
        model.algorithm,
    )
    yield dg.MaterializeResult(
        asset_key=CLUSTERS_KEY,
        metadata={
            "dagster/row_count": result.n_scored,
            "model_version": model.version,
            "retrained": result.decision.retrain,
            "retrain_reason": result.decision.reason,
            "algorithm": model.algorithm,
            "k": model.k,
            "silhouette": model.silhouette,
            "silhouette_by_k": dg.MetadataValue.json(silhouette),
            "inertia_by_k": dg.MetadataValue.json(inertia),
            "cluster_sizes": dg.MetadataValue.json({str(k): v for k, v in result.sizes.items()}),
            "seconds": dg.MetadataValue.json(result.seconds),
            "n_train": model.n_train,
        },
    )
    yield dg.MaterializeResult(
        asset_key=PROFILES_KEY,
        metadata={
            "dagster/row_count": model.k,
            "model_version": model.version,
            "profiles": dg.MetadataValue.md(_profiles_markdown(result)),
            "tree_fidelity": float(model.metrics.get("tree_fidelity") or 0.0),
            "labels": dg.MetadataValue.json({str(k): v for k, v in model.labels.items()}),
        },
    )


@dg.asset_check(asset=CLUSTERS_KEY, blocking=True, pool="duckdb")
def every_customer_assigned(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every customer in the feature table has exactly one cluster, and nobody else does."""
    with models_connection(duckdb) as con:
        missing, unknown, duplicated = con.execute(
            f"""
            select
                (select count(*) from {FEATURES_TABLE} as f
                 anti join models.customer_clusters as c using (customer_key)),
                (select count(*) from models.customer_clusters as c
                 anti join {FEATURES_TABLE} as f using (customer_key)),
                (select count(*) - count(distinct customer_key) from models.customer_clusters)
            """
        ).fetchone()
        examples = [
            row[0]
            for row in con.execute(
                f"select customer_key from {FEATURES_TABLE} "
                "anti join models.customer_clusters using (customer_key) "
                "order by customer_key limit 5"
            ).fetchall()
        ]
    return dg.AssetCheckResult(
        passed=missing == 0 and unknown == 0 and duplicated == 0,
        metadata={
            "customers_without_cluster": missing,
            "clustered_keys_not_in_features": unknown,
            "duplicated_keys": duplicated,
            "examples_without_cluster": json.dumps(examples),
        },
    )


@dg.asset_check(asset=CLUSTERS_KEY, pool="duckdb")
def no_empty_cluster(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every cluster of the current model holds at least one customer."""
    with models_connection(duckdb) as con:
        rows = con.execute(
            "select cluster_id, cluster_label, n_customers from models.cluster_profiles "
            "order by cluster_id"
        ).fetchall()
    empty = [f"{cid} ({label})" for cid, label, n in rows if n == 0]
    return dg.AssetCheckResult(
        passed=not empty and bool(rows),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "clusters": len(rows),
            "empty_clusters": json.dumps(empty),
            "smallest_cluster": min((n for _, _, n in rows), default=0),
        },
    )

"""Run micro-segmentation against the warehouse: sample, (re)train, score all, write `models.*`.

This is the I/O shell around the pure functions in this package, shared by the Dagster
asset and the benchmark. The feature table never comes into pandas whole: a deterministic
sample (hash of the customer key, so the same customers are drawn run after run) trains the
model, and every customer is then scored in Arrow batches; only three small columns per
customer (key, cluster, distance) are kept and written back in one statement.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from python_models.clustering.features import FEATURE_COLUMNS, FeatureError, feature_matrix
from python_models.clustering.model import ClusteringParams, SegmentModel, fit_segment_model
from python_models.clustering.policy import RetrainDecision, RetrainPolicy, decide_retrain
from python_models.clustering.profiles import cluster_profiles, describe_model
from python_models.clustering.storage import load_latest, new_version, save_model
from python_models.model_runs import append_model_run

FEATURES_TABLE = "intermediate.int_customer_features"
#: per-customer consent (strictest reading across identifiers); training keeps only customers
#: whose `consent_analytics` is true. Scoring still covers everyone: outputs that use the
#: scores apply their own purpose (personalization) rules.
TRAINING_CONSENT_TABLE = "intermediate.int_customer_consent_current"
MODEL_NAME = "customer_clusters"


@dataclass(frozen=True)
class SegmentationSettings:
    model_dir: Path
    features_table: str = FEATURES_TABLE
    training_consent_table: str | None = TRAINING_CONSENT_TABLE
    train_sample_size: int = 100_000
    score_batch_size: int = 200_000
    force_retrain: bool = False
    params: ClusteringParams = field(default_factory=ClusteringParams)
    policy: RetrainPolicy = field(default_factory=RetrainPolicy)


@dataclass
class SegmentationResult:
    model: SegmentModel
    decision: RetrainDecision
    run_id: str
    n_scored: int
    sizes: dict[int, int]
    seconds: dict[str, float]
    model_path: Path | None


def utc_now() -> datetime:
    """UTC wall-clock time without tzinfo, the form DuckDB TIMESTAMP columns hold."""
    return datetime.now(UTC).replace(tzinfo=None)


def _select_features(table: str) -> str:
    return ", ".join(["customer_key", *FEATURE_COLUMNS]) + f" from {table}"


def _has_consent_column(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, _, name = table.rpartition(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.columns where table_schema = ? "
            "and table_name = ? and column_name = 'consent_analytics'",
            [schema or "main", name],
        ).fetchall()[0][0]
    )


def read_training_sample(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sample_size: int,
    seed: int,
    consent_table: str | None = None,
) -> pd.DataFrame:
    """Up to `sample_size` customers, chosen by a seeded hash of the key (stable across runs).

    With `consent_table` (and when it exists), only customers whose `consent_analytics` is
    true there: a customer without analytics consent is never in a training sample."""
    consented = ""
    if consent_table and _has_consent_column(con, consent_table):
        consented = (
            f"semi join (select customer_key from {consent_table} where consent_analytics) "
            "as consented using (customer_key) "
        )
    return con.sql(
        f"select {_select_features(table)} as features {consented}"
        f"order by hash(customer_key || ':' || {int(seed)}), customer_key "
        f"limit {int(sample_size)}"
    ).df()


def score_customers(
    con: duckdb.DuckDBPyConnection, table: str, model: SegmentModel, batch_size: int
) -> pa.Table:
    """customer_key, cluster_id, distance for every row of `table`, scored batch by batch."""
    keys: list[pa.Array] = []
    ids: list[np.ndarray] = []
    distances: list[np.ndarray] = []
    reader = con.sql(f"select {_select_features(table)}").to_arrow_reader(batch_size)
    seen = 0
    for batch in reader:
        frame = batch.to_pandas()
        try:
            values = feature_matrix(frame, model.feature_columns)
        except FeatureError as exc:
            raise FeatureError(f"{table}, rows {seen + 1}-{seen + len(frame)}: {exc}") from exc
        cluster_id, distance = model.predict(values)
        keys.append(batch.column("customer_key"))
        ids.append(cluster_id)
        distances.append(distance)
        seen += len(frame)
    if not keys:
        return pa.table(
            {
                "customer_key": pa.array([], pa.string()),
                "cluster_id": pa.array([], pa.int32()),
                "distance": pa.array([], pa.float64()),
            }
        )
    return pa.table(
        {
            "customer_key": pa.chunked_array(keys),
            "cluster_id": pa.array(np.concatenate(ids)),
            "distance": pa.array(np.concatenate(distances)),
        }
    )


def model_run_row(model: SegmentModel, run_id: str, n_scored: int, reason: str) -> dict:
    inertia, silhouette = model.selection.as_dicts()
    return {
        "run_id": run_id,
        "model": MODEL_NAME,
        "version": model.version,
        "algorithm": model.algorithm,
        "k": model.k,
        "silhouette": model.silhouette,
        "inertia_by_k": json.dumps(inertia),
        "silhouette_by_k": json.dumps(silhouette),
        "n_train": model.n_train,
        "n_scored": n_scored,
        "trained_at": model.trained_at,
        "features": json.dumps(list(model.feature_columns)),
        "promoted": True,  # a retrained segment model always replaces the previous one
        "promotion_reason": reason,
        "metrics": json.dumps(
            {
                **model.metrics,
                "retrain_reason": reason,
                "smallest_cluster_share_by_k": dict(
                    zip(
                        inertia,
                        (round(v, 5) for v in model.selection.smallest_share),
                        strict=True,
                    )
                ),
            },
            default=str,
        ),
    }


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    assignments: pa.Table,
    profiles: pd.DataFrame,
    model: SegmentModel,
    assigned_at: datetime,
    run_row: dict | None,
) -> None:
    """Replace customer_clusters and cluster_profiles, append to model_runs, in one transaction.

    `assigned_at` is when a customer entered their current cluster: it is carried over from
    the previous run when the cluster id did not change (ids are stable across retrains).
    """
    labels = pd.DataFrame(
        {"cluster_id": list(model.labels), "cluster_label": list(model.labels.values())}
    )
    profile_rows = profiles.assign(
        centroid_z=profiles["centroid_z"].map(json.dumps),
    )
    con.register("_assignments", assignments)
    con.register("_labels", labels)
    con.register("_profiles", profile_rows)
    try:
        con.execute("begin transaction")
        con.execute("create schema if not exists models")
        previous_exists = (
            con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'models' and table_name = 'customer_clusters'"
            ).fetchall()[0][0]
            > 0
        )
        carried = (
            "coalesce(prev.assigned_at, $assigned_at)"
            if previous_exists
            else "$assigned_at::timestamp"
        )
        previous_join = (
            "left join models.customer_clusters as prev "
            "on prev.customer_key = a.customer_key and prev.cluster_id = a.cluster_id"
            if previous_exists
            else ""
        )
        con.execute(
            f"""
            create or replace table models.customer_clusters as
            select
                a.customer_key::varchar as customer_key,
                a.cluster_id::integer as cluster_id,
                l.cluster_label::varchar as cluster_label,
                a.distance::double as distance,
                $version::varchar as model_version,
                {carried}::timestamp as assigned_at
            from _assignments as a
            left join _labels as l using (cluster_id)
            {previous_join}
            """,
            {"version": model.version, "assigned_at": assigned_at},
        )
        con.execute(
            """
            create or replace table models.cluster_profiles as
            select * replace (centroid_z::json as centroid_z, rules::varchar[] as rules)
            from _profiles
            """
        )
        if run_row is not None:
            append_model_run(con, run_row)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in ("_assignments", "_labels", "_profiles"):
            con.unregister(name)


class ModelMismatch(RuntimeError):
    """The model folder's current model was not trained for this warehouse."""


def trained_versions(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Model versions this warehouse trained (its `models.model_runs`), empty when none."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'models' "
        "and table_name = 'model_runs' and not temporary"
    ).fetchall()[0][0]
    if not exists:
        return set()
    return {v for (v,) in con.execute("select version from models.model_runs").fetchall()}


def model_of_this_warehouse(
    con: duckdb.DuckDBPyConnection, previous: SegmentModel | None, model_dir: Path
) -> SegmentModel | None:
    """The stored model if this warehouse trained it; None for a fresh warehouse (it trains
    its own); a ModelMismatch for a warehouse that trained others but not this one.

    Model files live outside the warehouse; `models.model_runs` records every version a
    warehouse trained. A fresh warehouse beside an old model folder (or one pointed at
    another warehouse's) would otherwise "assign with the stored model" and keep no record
    of where that model came from.
    """
    if previous is None:
        return None
    known = trained_versions(con)
    if previous.version in known:
        return previous
    if not known:
        return None  # a fresh warehouse trains a model of its own (and records it)
    raise ModelMismatch(
        f"the clustering model {previous.version} in {model_dir} was not trained for this "
        "warehouse (models.model_runs has no row for it, but rows for other versions): another "
        "warehouse trained into the same folder? Point CUSTOMER360_MODEL_DIR at a folder of "
        "this warehouse's own, or retrain here with force_retrain"
    )


def run_segmentation(
    con: duckdb.DuckDBPyConnection,
    settings: SegmentationSettings,
    run_id: str | None = None,
    now: datetime | None = None,
) -> SegmentationResult:
    """Decide on retraining, train if needed, score every customer and write the outputs."""
    now = now or utc_now()
    run_id = run_id or uuid.uuid4().hex
    seconds: dict[str, float] = {}
    params = settings.params

    started = time.perf_counter()
    sample = read_training_sample(
        con,
        settings.features_table,
        settings.train_sample_size,
        params.seed,
        settings.training_consent_table,
    )
    if sample.empty:
        raise FeatureError(f"{settings.features_table} has no customers to segment")
    sample_values = feature_matrix(sample)
    seconds["read_sample"] = time.perf_counter() - started

    previous = load_latest(settings.model_dir)
    if not settings.force_retrain:
        previous = model_of_this_warehouse(con, previous, settings.model_dir)
    decision = decide_retrain(
        previous, sample_values, now, settings.policy, FEATURE_COLUMNS, settings.force_retrain
    )
    model_path = None
    started = time.perf_counter()
    if decision.retrain:
        version = new_version(now, settings.model_dir)
        model, train_ids = fit_segment_model(sample_values, version, now, params, previous)
        describe_model(model, sample_values, train_ids, params.tree_max_depth, params.seed)
        model_path = save_model(model, settings.model_dir)
    else:
        assert previous is not None
        model = previous
    seconds["train"] = time.perf_counter() - started

    started = time.perf_counter()
    assignments = score_customers(con, settings.features_table, model, settings.score_batch_size)
    seconds["score"] = time.perf_counter() - started

    counts = np.bincount(
        assignments.column("cluster_id").to_numpy(), minlength=int(model.cluster_ids.max()) + 1
    )
    sizes = {cid: int(counts[cid]) for cid in sorted(int(c) for c in model.cluster_ids)}
    profiles = cluster_profiles(model, sizes, now)
    run_row = (
        model_run_row(model, run_id, assignments.num_rows, decision.reason)
        if decision.retrain
        else None
    )
    started = time.perf_counter()
    write_outputs(con, assignments, profiles, model, now, run_row)
    seconds["write"] = time.perf_counter() - started
    return SegmentationResult(
        model=model,
        decision=decision,
        run_id=run_id,
        n_scored=assignments.num_rows,
        sizes=sizes,
        seconds={k: round(v, 3) for k, v in seconds.items()},
        model_path=model_path,
    )

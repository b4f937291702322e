"""Micro-segmentation against a throw-away warehouse: train, assign newcomers, retrain, check."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.models.clustering import (
    CLUSTERS_KEY,
    CustomerClustersConfig,
    customer_clusters,
    every_customer_assigned,
    no_empty_cluster,
)
from python_models.clustering.features import FeatureError, feature_matrix
from python_models.clustering.model import ClusteringParams
from python_models.clustering.pipeline import SegmentationSettings, run_segmentation
from python_models.clustering.storage import LATEST_FILE, load_latest
from python_models.sample_data.customer_features import synthetic_customer_features

FAST = ClusteringParams(k_min=3, k_max=5, silhouette_sample_size=1_000, kmeans_n_init=2)
DAY_ONE = datetime(2026, 11, 1, 2, 0)


def _warehouse(tmp_path: Path, n: int = 2_000, seed: int = 3) -> tuple[Path, pd.Series]:
    frame, truth = synthetic_customer_features(n, seed=seed)
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_customer_features as select * from frame")
    return path, pd.Series(truth, index=frame["customer_key"])


def _settings(tmp_path: Path, **overrides) -> SegmentationSettings:
    return SegmentationSettings(
        model_dir=tmp_path / "models" / "clustering", params=FAST, **overrides
    )


def test_first_run_trains_saves_a_version_and_writes_every_customer(tmp_path):
    path, truth = _warehouse(tmp_path)
    with duckdb.connect(str(path)) as con:
        result = run_segmentation(con, _settings(tmp_path), run_id="run-1", now=DAY_ONE)
        clusters = con.sql("select * from models.customer_clusters").df()
        profiles = con.sql("select * from models.cluster_profiles order by cluster_id").df()
        runs = con.sql("select * from models.model_runs").df()

    assert result.decision.retrain and result.decision.reason == "no stored model"
    version_dir = tmp_path / "models" / "clustering" / result.model.version
    assert (version_dir / "model.joblib").exists()
    assert json.loads((version_dir / "model.json").read_text())["k"] == result.model.k
    assert (tmp_path / "models" / "clustering" / LATEST_FILE).read_text().strip() == (
        result.model.version
    )

    assert len(clusters) == len(truth) and clusters["customer_key"].is_unique
    assert clusters["cluster_label"].notna().all()
    assert (clusters["model_version"] == result.model.version).all()
    assert (clusters["assigned_at"] == DAY_ONE).all()
    assert profiles["n_customers"].sum() == len(truth)
    assert (profiles["n_customers"] > 0).all()
    assert all(len(rules) > 0 for rules in profiles["rules"])

    run = runs.iloc[0]
    assert (run["run_id"], run["model"], run["k"]) == ("run-1", "customer_clusters", 4)
    assert run["n_train"] == len(truth)
    assert set(json.loads(run["inertia_by_k"])) == {"3", "4", "5"}
    assert run["silhouette"] == pytest.approx(json.loads(run["silhouette_by_k"])["4"])


def test_between_retrains_new_customers_get_the_stored_models_clusters(tmp_path):
    path, _ = _warehouse(tmp_path)
    settings = _settings(tmp_path)
    with duckdb.connect(str(path)) as con:
        first = run_segmentation(con, settings, now=DAY_ONE)
        newcomers, _ = synthetic_customer_features(300, seed=11, key_prefix="new_")
        con.execute("insert into intermediate.int_customer_features select * from newcomers")
        second = run_segmentation(con, settings, now=DAY_ONE + timedelta(days=1))
        clusters = con.sql("select * from models.customer_clusters").df().set_index("customer_key")
        n_runs = con.execute("select count(*) from models.model_runs").fetchone()[0]

    assert not second.decision.retrain, second.decision.reason
    assert second.model.version == first.model.version
    assert n_runs == 1  # assigning is not training
    stored = load_latest(settings.model_dir)
    expected_ids, _ = stored.predict(feature_matrix(newcomers))
    new_rows = clusters.loc[newcomers["customer_key"]]
    assert new_rows["cluster_id"].tolist() == expected_ids.tolist()
    assert (new_rows["assigned_at"] == DAY_ONE + timedelta(days=1)).all()
    # customers already in the same cluster keep the date they joined it
    old_rows = clusters.drop(index=newcomers["customer_key"])
    assert (old_rows["assigned_at"] == DAY_ONE).all()


def test_retrain_keeps_cluster_ids_for_the_same_groups(tmp_path):
    path, _ = _warehouse(tmp_path)
    settings = _settings(tmp_path)
    with duckdb.connect(str(path)) as con:
        first = run_segmentation(con, settings, now=DAY_ONE)
        before = con.sql("select customer_key, cluster_id from models.customer_clusters").df()
        # a month later the customers are a little different and the model is stale
        con.execute(
            "update intermediate.int_customer_features "
            "set monetary = monetary * 1.1, events_90d = events_90d * 0.9"
        )
        second = run_segmentation(con, settings, now=DAY_ONE + timedelta(days=40))
        after = con.sql("select customer_key, cluster_id from models.customer_clusters").df()
        versions = con.sql("select version from models.model_runs order by trained_at").fetchall()

    assert second.decision.retrain and "days old" in second.decision.reason
    assert [v for (v,) in versions] == [first.model.version, second.model.version]
    assert second.model.metrics["previous_version"] == first.model.version
    merged = before.merge(after, on="customer_key", suffixes=("_before", "_after"))
    assert (merged["cluster_id_before"] == merged["cluster_id_after"]).mean() > 0.98
    for cid in first.model.cluster_ids:
        assert second.model.labels[int(cid)] == first.model.labels[int(cid)]


def test_bad_feature_values_fail_with_the_rows_and_leave_the_last_result(tmp_path):
    path, _ = _warehouse(tmp_path, n=600)
    settings = _settings(tmp_path)
    with duckdb.connect(str(path)) as con:
        run_segmentation(con, settings, now=DAY_ONE)
        con.execute(
            "update intermediate.int_customer_features set tenure_days = 'inf'::double "
            "where customer_key = 'c_000000000100'"
        )
        with pytest.raises(FeatureError, match=r"tenure_days.*infinite"):
            run_segmentation(con, _settings(tmp_path, train_sample_size=10_000), now=DAY_ONE)
        assert con.execute("select count(*) from models.customer_clusters").fetchone()[0] == 600


def test_dagster_asset_materializes_and_its_checks_pass(tmp_path):
    path, truth = _warehouse(tmp_path, n=1_500)
    config = CustomerClustersConfig(model_dir=str(tmp_path / "models"), k_min=3, k_max=5)
    result = dg.materialize(
        [customer_clusters, every_customer_assigned, no_empty_cluster],
        resources={"duckdb": DuckDBResource(database=str(path))},
        run_config=dg.RunConfig(ops={"customer_clusters": config}),
    )
    assert result.success
    materializations = result.asset_materializations_for_node("customer_clusters")
    metadata = {m.asset_key: m.metadata for m in materializations}[CLUSTERS_KEY]
    assert metadata["k"].value == 4
    assert metadata["dagster/row_count"].value == len(truth)
    assert sum(metadata["cluster_sizes"].value.values()) == len(truth)
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"every_customer_assigned", "no_empty_cluster"}
    assert all(c.passed for c in checks)


def test_a_fresh_warehouse_beside_old_model_files_trains_its_own_and_a_mismatch_is_refused(
    tmp_path,
):
    from python_models.clustering.pipeline import ModelMismatch

    old, _ = _warehouse(tmp_path)
    settings = _settings(tmp_path)
    with duckdb.connect(str(old)) as con:
        trained = run_segmentation(con, settings, now=DAY_ONE)
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh, _ = _warehouse(fresh_dir)

    with duckdb.connect(str(fresh)) as con:  # same model folder, no record of its model
        own = run_segmentation(con, settings, now=DAY_ONE + timedelta(days=1))
        runs = con.execute(
            "select version, metrics->>'retrain_reason' from models.model_runs"
        ).fetchall()
    assert own.decision.retrain and own.model.version != trained.model.version
    assert runs == [(own.model.version, "no stored model")]

    with duckdb.connect(str(old)) as con:  # the folder now holds a model it never trained
        with pytest.raises(ModelMismatch, match=rf"{own.model.version} .* was not trained"):
            run_segmentation(con, settings, now=DAY_ONE + timedelta(days=2))
        assert con.execute("select version from models.model_runs").fetchall() == [
            (trained.model.version,)
        ]
        assert con.execute(
            "select distinct model_version from models.customer_clusters"
        ).fetchall() == [(trained.model.version,)]  # its last result stands

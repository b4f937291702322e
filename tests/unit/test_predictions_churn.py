"""Churn: deterministic training, promotion refused on worse metrics, defined outputs for all."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from python_models.predictions.byod import BYOD_SOURCES, TransactionColumns, load_transactions
from python_models.predictions.churn import ChurnParams
from python_models.predictions.evaluation import decide_promotion, top_decile_lift
from python_models.predictions.pipeline import (
    NOT_SCORABLE_NO_PURCHASE,
    ChurnSettings,
    run_churn,
)
from python_models.predictions.storage import load_promoted
from python_models.sample_data.transactions import generate_transactions

AS_OF = datetime(2026, 11, 1)
FAST = ChurnParams(
    cv_folds=2,
    logistic_c=(1.0,),
    hgb_learning_rate=(0.1,),
    hgb_max_leaf_nodes=(15,),
    hgb_max_iter=40,
)


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory) -> Path:
    orders = generate_transactions(600, seed=5)
    path = tmp_path_factory.mktemp("byod") / "orders.csv"
    orders.to_csv(path, index=False)
    return path


def warehouse(orders_csv: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_transactions(con, orders_csv, TransactionColumns())
    # a customer known to the graph who never bought: must get a reason, not a NaN
    con.execute("insert into byod.identity_graph values ('zz-never', 'byod', 'zz-never')")
    return con


def settings(model_dir: Path, **changes) -> ChurnSettings:
    return ChurnSettings(model_dir=model_dir, sources=BYOD_SOURCES, params=FAST, **changes)


def test_the_same_seed_gives_the_same_scores_and_every_customer_a_score_or_reason(
    orders_csv, tmp_path
) -> None:
    scores = []
    for run in ("one", "two"):
        con = warehouse(orders_csv)
        result = run_churn(con, settings(tmp_path / run), AS_OF, now=datetime(2026, 11, 2))
        scores.append(
            con.sql(
                "select * exclude (model_version, scored_at) "
                "from models.customer_churn_scores order by customer_key"
            ).df()
        )
        assert result.promoted
    pd.testing.assert_frame_equal(scores[0], scores[1])

    by_key = scores[0].set_index("customer_key")
    never = by_key.loc["zz-never"]
    assert never.risk_band == "not_scorable" and never.top_reason == NOT_SCORABLE_NO_PURCHASE
    scorable = by_key[by_key.is_scorable]
    assert scorable.churn_probability.between(0, 1).all()
    assert set(scorable.risk_band) <= {"low", "medium", "high"}
    assert scorable.top_reason.notna().all()
    assert len(by_key) == con.execute("select count(*) from byod.identity_graph").fetchall()[0][0]


def test_a_worse_model_is_not_promoted_and_the_previous_scores_stay(orders_csv, tmp_path) -> None:
    con = warehouse(orders_csv)
    first = run_churn(con, settings(tmp_path), AS_OF, now=datetime(2026, 11, 2))
    before = con.sql("select * from models.customer_churn_scores order by customer_key").df()
    promoted = load_promoted(tmp_path)
    # make the promoted model look far better than anything a retrain can reach
    promoted.metrics = {"roc_auc": 0.999, "pr_auc": 0.999, "brier": 0.001, "top_decile_lift": 9}
    import joblib

    joblib.dump(promoted, tmp_path / promoted.version / "model.joblib")
    second = run_churn(
        con, settings(tmp_path, force_retrain=True), AS_OF, now=datetime(2026, 11, 3)
    )
    assert not second.promoted
    assert (
        "worse than the promoted model" in second.reason and "previous scores kept" in second.reason
    )
    after = con.sql("select * from models.customer_churn_scores order by customer_key").df()
    pd.testing.assert_frame_equal(before, after)
    assert load_promoted(tmp_path).version == first.version
    runs = con.sql(
        "select version, promoted, promotion_reason, metrics, features, parameters, "
        "data_window_start, data_window_end from models.model_runs order by trained_at"
    ).df()
    assert runs["promoted"].tolist() == [True, False]
    assert "worse" in runs["promotion_reason"].iloc[1]
    metrics = json.loads(runs["metrics"].iloc[0])
    assert {"roc_auc", "pr_auc", "brier", "top_decile_lift", "bgnbd_baseline"} <= set(metrics)
    assert "recency_days" in json.loads(runs["features"].iloc[0])
    assert runs["data_window_start"].iloc[0] < runs["data_window_end"].iloc[0]


def test_a_recent_model_without_drift_scores_without_retraining(orders_csv, tmp_path) -> None:
    con = warehouse(orders_csv)
    first = run_churn(con, settings(tmp_path), AS_OF, now=datetime(2026, 11, 2))
    # this generated population only ages (nobody new joins late), so tenure drifts for real;
    # a lenient threshold isolates the age rule
    stable = settings(tmp_path, psi_threshold=5.0)
    again = run_churn(con, stable, AS_OF, now=datetime(2026, 11, 5))
    assert not again.retrained and again.version == first.version
    late = run_churn(con, stable, AS_OF, now=datetime(2026, 11, 2) + timedelta(days=40))
    assert late.retrained and "scheduled" in late.reason
    drifted = run_churn(
        con, settings(tmp_path, psi_threshold=1e-6), AS_OF, now=datetime(2026, 12, 13)
    )
    assert drifted.retrained and drifted.reason.startswith("drift: PSI > 1e-06")
    drift = con.sql("select * from models.model_drift").df()
    assert drift["psi"].notna().all() and drift["run_id"].nunique() == 4


def test_promotion_compares_every_metric_with_a_tolerance() -> None:
    current = {"roc_auc": 0.85, "pr_auc": 0.6, "brier": 0.15}
    assert decide_promotion({"roc_auc": 0.86, "pr_auc": 0.6, "brier": 0.15}, current).promote
    assert decide_promotion({"roc_auc": 0.847, "pr_auc": 0.6, "brier": 0.151}, current).promote
    refused = decide_promotion({"roc_auc": 0.80, "pr_auc": 0.6, "brier": 0.15}, current)
    assert not refused.promote and "roc_auc 0.8000 vs 0.8500" in refused.reason
    assert not decide_promotion({"roc_auc": 0.85, "pr_auc": 0.6, "brier": 0.2}, current).promote
    assert decide_promotion(current, None).reason == "first model"


def test_top_decile_lift_counts_churners_among_the_riskiest_tenth() -> None:
    y = np.array([1] * 10 + [0] * 90)
    perfect = np.linspace(1, 0, 100)
    assert top_decile_lift(y, perfect) == pytest.approx(10.0)
    assert top_decile_lift(y, -perfect) == 0.0

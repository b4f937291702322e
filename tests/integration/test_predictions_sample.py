"""Churn, CLV and recommendations on the committed sample, as the pipeline built them.

Churn is held to issue #17's target on the generated data (ROC-AUC >= 0.85 on the later test
cutoff, above the logistic baseline and above BG/NBD on the same split), with recency alone
clearly lower so the generator's signal is not trivially separable (docs/decisions/0012).
"""

from __future__ import annotations

import json

import duckdb
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(sample_pipeline):
    result, path = sample_pipeline
    assert result.success
    with duckdb.connect(str(path), read_only=True) as con:
        yield con


def run_metrics(con, model: str) -> dict:
    return json.loads(
        con.execute(
            "select metrics from models.model_runs where model = ? "
            "order by trained_at desc limit 1",
            [model],
        ).fetchall()[0][0]
    )


def test_churn_reaches_the_target_and_beats_its_yardsticks(warehouse) -> None:
    metrics = run_metrics(warehouse, "customer_churn")
    assert metrics["roc_auc"] >= 0.85
    # the chosen model beats the logistic-regression baseline on the later test cutoff
    assert metrics["roc_auc"] > metrics["candidates"]["logistic_regression"]["roc_auc"]
    # and BG/NBD expected purchases used as a churn score on the same split
    assert metrics["roc_auc"] > metrics["bgnbd_baseline"]["roc_auc"]
    assert metrics["brier"] < metrics["bgnbd_baseline"]["brier"]
    # recency alone ranks clearly worse: the signal is in the history, not in one number
    assert metrics["recency_only_roc_auc"] <= metrics["roc_auc"] - 0.03
    assert metrics["top_decile_lift"] > 1.3


def test_clv_holdout_totals_are_within_a_quarter(warehouse) -> None:
    holdout = run_metrics(warehouse, "customer_clv")["holdout"]
    assert abs(holdout["purchases_total_error"]) < 0.25
    assert abs(holdout["value_total_error"]) < 0.25


def test_recommendations_beat_popularity_by_a_fifth(warehouse) -> None:
    by_method = run_metrics(warehouse, "customer_recommendations")["by_method"]
    assert (
        by_method["hybrid"]["precision_at_10"] >= 1.2 * by_method["popularity"]["precision_at_10"]
    )


def test_dim_customers_carries_scores_without_nan(warehouse) -> None:
    bands, nan_values, unscored_buyers = warehouse.execute(
        """
        select
            count(distinct churn_risk_band),
            count(*) filter (where isnan(churn_probability) or isnan(p_alive)
                             or isnan(clv_expected_value_12m)),
            count(*) filter (where churn_risk_band = 'not_scorable'
                             and online_order_count + store_order_count > 0
                             and first_order_at < timestamp '2026-11-01')
        from marts.dim_customers
        """
    ).fetchall()[0]
    assert bands == 4 and nan_values == 0
    # a buyer is scored unless their only orders were cancelled or returned
    assert (
        unscored_buyers
        < 0.05 * warehouse.execute("select count(*) from marts.dim_customers").fetchall()[0][0]
    )


def test_recommendations_respect_personalisation_consent(warehouse) -> None:
    personalised_without_consent = warehouse.execute(
        """
        select count(*) from models.customer_recommendations as r
        join marts.dim_customers as c using (customer_key)
        where r.is_personalized and not c.consent_personalization
        """
    ).fetchall()[0][0]
    assert personalised_without_consent == 0

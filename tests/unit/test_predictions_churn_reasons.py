"""Churn reasons at scale: the logistic model's closed form, and trees explained through the
few features that carry nearly every customer's reasons, agreeing with the full computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from python_models.predictions.churn import (
    GRADIENT_BOOSTING,
    LOGISTIC,
    ChurnParams,
    explained_features,
    feature_contributions,
    feature_matrix,
    fit_churn_model,
)

FAST = ChurnParams(
    cv_folds=2,
    logistic_c=(1.0,),
    hgb_learning_rate=(0.1,),
    hgb_max_leaf_nodes=(15,),
    hgb_max_iter=30,
)
FEATURES = tuple(f"f{j}" for j in range(8))


@pytest.fixture(scope="module")
def customers() -> tuple[pd.DataFrame, np.ndarray]:
    """Churn driven by f0 and f1 (and a little f2); f3..f7 are noise, some mostly zero."""
    rng = np.random.default_rng(3)
    n = 3000
    values = rng.normal(size=(n, len(FEATURES)))
    values[:, 5:] = np.where(rng.random((n, 3)) < 0.8, 0.0, values[:, 5:])
    logit = 1.5 * values[:, 0] - 1.0 * values[:, 1] + 0.3 * values[:, 2]
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(values, columns=FEATURES), churned


def fit(algorithm: str, customers) -> object:
    frame, churned = customers
    groups = np.arange(len(frame))
    return fit_churn_model(algorithm, frame, churned, groups, FEATURES, FAST)


def test_the_logistic_closed_form_equals_predicting_each_change(customers) -> None:
    model = fit(LOGISTIC, customers)
    values = feature_matrix(customers[0], FEATURES)
    closed = model.contributions(values)
    predicted = feature_contributions(model.raw_proba, values, model.reference)
    assert closed == pytest.approx(predicted, abs=1e-12)
    assert model.reasons(customers[0].head(50)) == model.reasons(
        customers[0].head(50), explained=range(len(FEATURES))
    )


def test_trees_explained_by_their_chosen_features_give_the_full_reasons(customers) -> None:
    model = fit(GRADIENT_BOOSTING, customers)
    frame = customers[0]
    sample = feature_matrix(frame.sample(n=1000, random_state=1), FEATURES)
    explained, share = explained_features(model, sample, coverage=0.9)
    assert 3 <= len(explained) < len(FEATURES) and share >= 0.9
    assert {0, 1} <= set(explained)  # the two real drivers are always measured
    full = model.reasons(frame)
    fast = model.reasons(frame, explained=explained)
    agree = np.mean([a == b for a, b in zip(full, fast, strict=True)])
    # on the whole population the exact-match share is about the sample's
    assert agree >= share - 0.05
    # every customer still gets at least one reason phrase, and the phrases read the same
    assert all(row and all(":" in p or p.startswith("no feature") for p in row) for row in fast)


def test_full_coverage_keeps_every_feature_that_is_ever_a_reason(customers) -> None:
    model = fit(GRADIENT_BOOSTING, customers)
    sample = feature_matrix(customers[0].head(500), FEATURES)
    explained, share = explained_features(model, sample, coverage=1.0)
    assert share == 1.0
    assert model.reasons(customers[0].head(500), explained=explained) == model.reasons(
        customers[0].head(500)
    )


def test_trees_reuse_the_unchanged_trees_and_give_the_deltas_of_re_predicting(customers) -> None:
    model = fit(GRADIENT_BOOSTING, customers)
    values = feature_matrix(customers[0], FEATURES)
    values[:, 6] = model.reference[6]  # a feature at its reference everywhere: skipped
    fast = model.contributions(values)
    predicted = feature_contributions(model.raw_proba, values, model.reference)
    assert fast == pytest.approx(predicted, abs=1e-12)
    assert (fast[:, 6] == 0).all() and np.abs(fast[:, :2]).max() > 0.05

"""Micro-segment model: recovers known groups, names them sensibly, keeps ids across retrains."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from python_models.clustering.features import (
    FEATURE_COLUMNS,
    RECENCY_NEVER_PURCHASED_DAYS,
    FeatureError,
    feature_matrix,
    fit_scaler,
)
from python_models.clustering.model import (
    ClusteringParams,
    fit_segment_model,
    match_cluster_ids,
    select_k,
)
from python_models.clustering.policy import RetrainPolicy, decide_retrain
from python_models.clustering.profiles import (
    cluster_profiles,
    describe_model,
    label_from_centroid,
    unique_labels,
)
from python_models.sample_data.customer_features import PERSONAS, synthetic_customer_features

FAST = ClusteringParams(k_min=3, k_max=6, silhouette_sample_size=1_500, kmeans_n_init=2)
TRAINED_AT = datetime(2026, 11, 1)


def _fit(n: int, seed: int, previous=None, weights=None, noise: float = 0.0):
    frame, truth = synthetic_customer_features(n, seed=seed, weights=weights)
    values = feature_matrix(frame)
    if noise:
        values = values * np.random.default_rng(seed).lognormal(0.0, noise, values.shape)
    model, ids = fit_segment_model(values, f"v{seed}", TRAINED_AT, FAST, previous)
    describe_model(model, values, ids, seed=FAST.seed)
    return model, ids, truth, values


@pytest.fixture(scope="module")
def fitted():
    return _fit(3_000, seed=1)


def _majority_id(ids: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    table = pd.crosstab(truth, ids)
    return {persona: int(table.loc[persona].idxmax()) for persona in table.index}


def test_kmeans_recovers_the_synthetic_personas(fitted):
    model, ids, truth, _ = fitted
    assert model.k == len(PERSONAS)
    assert adjusted_rand_score(truth, ids) > 0.95
    assert model.selection.best_k == 4
    # the elbow and the silhouette are recorded for every k tried
    assert model.selection.k_values == [3, 4, 5, 6]
    assert all(a > b for a, b in pairwise(model.selection.inertia))


def test_labels_name_each_persona_after_its_behaviour(fitted):
    model, ids, truth, _ = fitted
    majority = _majority_id(ids, truth)
    assert {persona: model.labels[cid] for persona, cid in majority.items()} == {
        persona: persona for persona in PERSONAS
    }


def test_gmm_challenger_is_recorded_and_kmeans_kept_unless_clearly_better(fitted):
    model, *_ = fitted
    assert model.metrics["gmm_bic"] is not None
    if model.algorithm == "kmeans":
        assert model.metrics["gmm_silhouette"] <= model.metrics["kmeans_silhouette"] + 0.02
    assert "K-Means" in model.metrics["algorithm_reason"]


def test_every_cluster_has_shallow_readable_rules(fitted):
    model, *_ = fitted
    assert model.metrics["tree_fidelity"] > 0.9
    depth = max(line.count("|   ") for line in model.tree_text.splitlines())
    assert depth <= 3
    for cid in model.cluster_ids:
        rules = model.rules[int(cid)]
        assert rules, f"cluster {cid} has no rule"
        assert any(column in rules[0] for column in FEATURE_COLUMNS)
        assert "% of cluster" in rules[0]


def test_profiles_show_centroids_in_business_units(fitted):
    model, ids, _, _ = fitted
    sizes = {int(c): int((ids == c).sum()) for c in model.cluster_ids}
    profiles = cluster_profiles(model, sizes, TRAINED_AT).set_index("cluster_label")
    assert profiles["n_customers"].sum() == 3_000
    browsers = profiles.loc["browsers, no purchase"]
    assert browsers["centroid_frequency"] == 0
    assert browsers["centroid_recency_days"] == pytest.approx(RECENCY_NEVER_PURCHASED_DAYS)
    lapsed = profiles.loc["lapsed big spenders"]
    assert lapsed["centroid_recency_days"] == pytest.approx(400, rel=0.2)
    assert lapsed["centroid_avg_order_value"] == pytest.approx(200, rel=0.2)


def test_retrain_on_a_perturbed_sample_keeps_ids_meaning_the_same_group(fitted):
    first, first_ids, first_truth, _ = fitted
    weights = {"browsers, no purchase": 2.0, "lapsed big spenders": 0.6}
    second, second_ids, second_truth, _ = _fit(
        2_500, seed=2, previous=first, weights=weights, noise=0.1
    )
    assert second.metrics["previous_version"] == first.version
    before = _majority_id(first_ids, first_truth)
    after = _majority_id(second_ids, second_truth)
    assert after == before
    assert {cid: second.labels[cid] for cid in after.values()} == {
        cid: first.labels[cid] for cid in before.values()
    }


def test_new_customers_are_scored_with_the_stored_model(fitted):
    model, _, _, _ = fitted
    frame, truth = synthetic_customer_features(500, seed=99, key_prefix="new_")
    ids, distance = model.predict(feature_matrix(frame))
    by_label = pd.Series([model.labels[int(i)] for i in ids])
    assert (by_label.to_numpy() == truth).mean() > 0.97
    assert (distance >= 0).all()


def test_k_with_a_near_empty_cluster_is_not_chosen():
    rng = np.random.default_rng(5)
    centres = [(0, 0), (8, 0), (0, 8), (40, 40)]  # the far one holds 0.2 % of customers
    sizes = [1_000, 1_000, 1_000, 6]
    points = np.vstack([rng.normal(c, 1.0, (n, 2)) for c, n in zip(centres, sizes, strict=True)])
    params = ClusteringParams(k_min=3, k_max=5, silhouette_sample_size=1_500, kmeans_n_init=2)
    selection, _ = select_k(points, params)
    assert selection.best_k == 3
    chosen = selection.k_values.index(selection.best_k)
    assert selection.smallest_share[chosen] >= params.min_cluster_share
    assert min(selection.smallest_share) < params.min_cluster_share  # k=4 isolates the outliers


def test_match_cluster_ids_follows_centroids_and_never_reuses_ids():
    previous = {0: np.array([0.0, 0.0]), 1: np.array([5.0, 5.0]), 2: np.array([-5.0, 5.0])}
    new = np.array([[-4.8, 5.1], [0.2, -0.1], [9.0, -9.0], [5.1, 4.9]])
    assert match_cluster_ids(new, previous).tolist() == [2, 0, 3, 1]
    # a far-away cluster gets a fresh id rather than a wrong old one
    assert match_cluster_ids(new[:3], previous, max_distance=1.0).tolist() == [2, 0, 3]


@pytest.mark.parametrize(
    ("z_changes", "centroid_changes", "expected"),
    [
        ({"monetary": 1.2, "frequency": 1.1, "recency_days": -1.0}, {}, "high-value frequent"),
        ({"monetary": 1.0, "recency_days": 1.5, "events_90d": -1.0}, {}, "lapsed big spenders"),
        ({"recency_days": 1.5, "frequency": -1.0}, {}, "lapsed occasional buyers"),
        ({"discount_share": 1.4, "frequency": -0.8}, {}, "discount-driven occasional"),
        ({"events_90d": -0.6}, {"frequency": 0, "sessions_90d": 4}, "browsers, no purchase"),
        ({"events_90d": 0.6}, {"frequency": 0, "sessions_90d": 0.2}, "dormant, no purchase"),
        ({"return_rate": 1.0}, {}, "serial returners, mid-value"),
        ({"tenure_days": -1.2, "monetary": -0.9}, {}, "new customers, low-value"),
        (
            {"email_clicks_90d": 1.0, "sessions_90d": 1.0, "events_90d": 1.0},
            {},
            ("engaged mid-value regular"),
        ),
        ({}, {}, "mid-value regular"),
    ],
)
def test_label_rules_on_crafted_centroids(z_changes, centroid_changes, expected):
    z = dict.fromkeys(FEATURE_COLUMNS, 0.0) | z_changes
    centroid = dict.fromkeys(FEATURE_COLUMNS, 3.0) | centroid_changes
    assert label_from_centroid(z, centroid) == expected


def test_same_named_clusters_are_told_apart_by_what_separates_them():
    zs = {
        0: dict.fromkeys(FEATURE_COLUMNS, 0.0) | {"email_clicks_90d": 0.4},
        1: dict.fromkeys(FEATURE_COLUMNS, 0.0) | {"avg_order_value": -0.45},
        2: dict.fromkeys(FEATURE_COLUMNS, 0.0),
    }
    labels = unique_labels({0: "mid-value regular", 1: "mid-value regular", 2: "x"}, zs)
    assert labels == {
        0: "mid-value regular · large baskets",
        1: "mid-value regular · small baskets",
        2: "x",
    }


def test_clusters_alike_in_their_strongest_trait_still_get_different_words():
    # the sample's two dormant clusters: both have small baskets; they differ in tenure
    zs = {
        1: dict.fromkeys(FEATURE_COLUMNS, 0.0) | {"avg_order_value": -2.0, "tenure_days": 0.6},
        3: dict.fromkeys(FEATURE_COLUMNS, 0.0) | {"avg_order_value": -2.0, "tenure_days": -1.1},
    }
    labels = unique_labels({1: "dormant, no purchase", 3: "dormant, no purchase"}, zs)
    assert labels == {
        1: "dormant, no purchase · long-standing",
        3: "dormant, no purchase · recently joined",
    }


def test_feature_matrix_fills_never_purchased_and_names_bad_rows():
    frame = pd.DataFrame(
        {"customer_key": ["c_1", "c_2"]} | {c: [1.0, 2.0] for c in FEATURE_COLUMNS}
    )
    frame.loc[1, "recency_days"] = None
    frame.loc[0, "monetary"] = -30.0
    values = feature_matrix(frame)
    assert values[1, FEATURE_COLUMNS.index("recency_days")] == RECENCY_NEVER_PURCHASED_DAYS
    assert values[0, FEATURE_COLUMNS.index("monetary")] == 0.0

    frame.loc[1, "events_90d"] = np.inf
    with pytest.raises(FeatureError, match=r"events_90d.*c_2"):
        feature_matrix(frame)
    with pytest.raises(FeatureError, match="lacks column"):
        feature_matrix(frame.drop(columns=["tenure_days"]))


def test_scaler_round_trips_to_business_units():
    values = np.abs(np.random.default_rng(0).normal(50, 20, (200, len(FEATURE_COLUMNS))))
    scaler = fit_scaler(values)
    assert np.allclose(scaler.inverse_transform(scaler.transform(values)), values)
    assert np.allclose(scaler.transform(values).mean(axis=0), 0, atol=1e-9)


def test_retrain_policy(fitted):
    model, _, _, values = fitted
    policy = RetrainPolicy(max_age_days=30, max_mean_shift=0.25)
    cols = FEATURE_COLUMNS
    fresh = decide_retrain(model, values, TRAINED_AT + timedelta(days=3), policy, cols)
    assert not fresh.retrain
    old = decide_retrain(model, values, TRAINED_AT + timedelta(days=45), policy, cols)
    assert old.retrain and "days old" in old.reason
    drifted_values = values.copy()
    drifted_values[:, FEATURE_COLUMNS.index("email_clicks_90d")] *= 4
    drifted = decide_retrain(model, drifted_values, TRAINED_AT, policy, cols)
    assert drifted.retrain and drifted.most_shifted_feature == "email_clicks_90d"
    assert decide_retrain(None, values, TRAINED_AT, policy, cols).reason == "no stored model"
    assert decide_retrain(model, values, TRAINED_AT, policy, cols, force=True).retrain

"""Clustering of links and the quality metrics used by the benchmarks."""

import numpy as np
import pytest

from python_models.identity import cluster_metrics, cluster_records, pairwise_metrics


def test_links_chain_into_one_cluster_and_singletons_stay_alone():
    labels = cluster_records(["a", "b", "c", "d"], ["a", "b"], ["b", "c"])
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] != labels[0]


def test_link_to_unknown_record_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'zz'"):
        cluster_records(["a", "b"], ["a"], ["zz"])


def test_pairwise_metrics_count_implied_pairs():
    truth = [0, 0, 0, 1]
    pred = [0, 0, 1, 1]  # finds a-b, wrongly joins c-d, misses a-c and b-c
    result = pairwise_metrics(pred, truth)
    assert result["true_pairs"] == 3
    assert result["predicted_pairs"] == 2
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(1 / 3)


def test_perfect_clustering_scores_one():
    truth = np.array([5, 5, 7, 9, 9, 9])
    assert pairwise_metrics(truth, truth)["f1"] == 1.0
    result = cluster_metrics(truth, truth)
    assert result["bcubed_f1"] == 1.0
    assert result["adjusted_rand"] == 1.0


def test_bcubed_penalises_a_wrong_merge():
    result = cluster_metrics([0, 0, 0, 0], [0, 0, 1, 1])
    assert result["bcubed_recall"] == 1.0
    assert result["bcubed_precision"] == pytest.approx(0.5)

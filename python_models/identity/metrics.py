"""Quality of a clustering against ground truth: pairwise and B-cubed precision/recall/F1 and
adjusted Rand index.

Pairwise figures count record pairs placed in one cluster (predicted) versus pairs that are
truly the same entity; all are computed from the sparse contingency table, so they cost time
linear in records, never quadratic in pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _check(pred: Sequence, true: Sequence) -> tuple[np.ndarray, np.ndarray]:
    pred_arr, true_arr = np.asarray(pred), np.asarray(true)
    if pred_arr.shape != true_arr.shape or pred_arr.ndim != 1:
        raise ValueError(
            f"pred_cluster and true_cluster must be 1-D and equally long, got "
            f"{pred_arr.shape} and {true_arr.shape}"
        )
    return pred_arr, true_arr


def pairwise_metrics(pred_cluster: Sequence, true_cluster: Sequence) -> dict[str, float]:
    """Precision, recall and F1 of the record pairs implied by the predicted clusters.

    A pair counts as predicted when both records share a predicted cluster, and as true when
    they share a true cluster. With no predicted (or true) pairs, precision (recall) is 1.
    """
    pred, true = _check(pred_cluster, true_cluster)
    table = contingency_matrix(true, pred, sparse=True)
    true_positive = _pairs(table.data)
    predicted = _pairs(np.asarray(table.sum(axis=0)).ravel())
    actual = _pairs(np.asarray(table.sum(axis=1)).ravel())
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_positive_pairs": true_positive,
        "predicted_pairs": predicted,
        "true_pairs": actual,
    }


def cluster_metrics(pred_cluster: Sequence, true_cluster: Sequence) -> dict[str, float]:
    """B-cubed precision/recall/F1, adjusted Rand index and cluster counts."""
    pred, true = _check(pred_cluster, true_cluster)
    n = pred.size
    if n == 0:
        raise ValueError("cannot score an empty clustering")
    table = contingency_matrix(true, pred, sparse=True).tocoo()
    pred_sizes = np.asarray(contingency_matrix(true, pred, sparse=True).sum(axis=0)).ravel()
    true_sizes = np.asarray(contingency_matrix(true, pred, sparse=True).sum(axis=1)).ravel()
    overlap_sq = table.data.astype(np.float64) ** 2
    # Per record, B-cubed precision is |own predicted ∩ own true| / |own predicted|; summing
    # over the records of one contingency cell gives n_ij**2 / |predicted cluster j|.
    b3_precision = float((overlap_sq / pred_sizes[table.col]).sum() / n)
    b3_recall = float((overlap_sq / true_sizes[table.row]).sum() / n)
    return {
        "bcubed_precision": b3_precision,
        "bcubed_recall": b3_recall,
        "bcubed_f1": _f1(b3_precision, b3_recall),
        "adjusted_rand": float(adjusted_rand_score(true, pred)),
        "predicted_clusters": int(pred_sizes.size),
        "true_clusters": int(true_sizes.size),
    }

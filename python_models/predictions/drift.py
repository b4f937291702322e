"""Population stability index (PSI) per feature: the training population vs today's.

Bins are the training deciles of each feature (distinct edges, so a feature with many
zeros gets fewer bins); a missing value is its own bin. PSI = sum((a - e) * ln(a / e))
over bins, with shares floored at 1e-4 so an empty bin does not make it infinite. The
usual reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant (retrain).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PSI_FLOOR = 1e-4
DEFAULT_PSI_THRESHOLD = 0.25


def bin_edges(expected: np.ndarray, bins: int = 10) -> np.ndarray:
    """Interior quantile edges of the reference sample (NaNs ignored)."""
    values = expected[np.isfinite(expected)]
    if len(values) == 0:
        return np.array([])
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    return edges


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    counts = np.bincount(
        np.searchsorted(edges, values[finite], side="right"), minlength=len(edges) + 1
    )
    counts = np.append(counts, (~finite).sum())
    total = max(len(values), 1)
    return np.maximum(counts / total, PSI_FLOOR)


def population_stability_index(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI of `actual` against the reference `expected`."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    edges = bin_edges(e, bins)
    pe, pa = _shares(e, edges), _shares(a, edges)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def feature_drift(
    training: pd.DataFrame,
    scoring: pd.DataFrame,
    features: Sequence[str],
    *,
    threshold: float = DEFAULT_PSI_THRESHOLD,
) -> pd.DataFrame:
    """One row per feature: psi, training and scoring means, and whether it drifted."""
    rows = []
    for name in features:
        e = training[name].to_numpy(dtype=float)
        a = scoring[name].to_numpy(dtype=float)
        psi = population_stability_index(e, a)
        rows.append(
            {
                "feature": name,
                "psi": psi,
                "training_mean": float(np.nanmean(e)) if np.isfinite(e).any() else 0.0,
                "scoring_mean": float(np.nanmean(a)) if np.isfinite(a).any() else 0.0,
                "drifted": psi > threshold,
            }
        )
    return pd.DataFrame(
        rows, columns=["feature", "psi", "training_mean", "scoring_mean", "drifted"]
    )

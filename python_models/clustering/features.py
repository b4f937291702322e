"""Feature preparation for micro-segmentation: which columns cluster, and how they are scaled.

`intermediate.int_customer_features` holds one row per customer in business units (days,
counts, GBP, shares). Distances between customers only make sense once the heavy-tailed
columns are compressed (log1p) and every column is on the same scale (z-scores), so this
module owns that transform and its exact inverse, which turns centroids back into units a
marketer can read. The fitted `FeatureScaler` is saved with the model, so customers scored
months later are measured with the same ruler as the ones the model was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The columns the model sees, in the order it sees them. Every one is numeric and >= 0.
FEATURE_COLUMNS: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "top_category_share",
    "events_90d",
    "sessions_90d",
    "email_clicks_90d",
    "tenure_days",
    "return_rate",
    "discount_share",
)

# Counts, money and day spans have long right tails; shares in [0, 1] do not.
LOG_COLUMNS: frozenset[str] = frozenset(
    {
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "events_90d",
        "sessions_90d",
        "email_clicks_90d",
        "tenure_days",
    }
)

# A customer who never bought has no recency; treat them as "longer ago than anyone" so they
# sit at the lapsed end of that axis instead of being dropped or faked as recent.
RECENCY_NEVER_PURCHASED_DAYS = 3650.0


class FeatureError(ValueError):
    """Features that cannot be clustered (missing column, non-numeric or negative values)."""


def feature_matrix(
    frame: pd.DataFrame, columns: Sequence[str] = FEATURE_COLUMNS, key: str = "customer_key"
) -> np.ndarray:
    """Return the float64 matrix of `columns`, with documented fills, or raise naming the rows.

    NULL recency (never purchased) becomes `RECENCY_NEVER_PURCHASED_DAYS`; other NULLs are 0
    (no orders means no spend, no returns, no discount). Negative values (a customer whose
    returns exceed purchases has negative net spend) are floored at 0 for the geometry only.
    Infinite values are a bug upstream and are rejected with the offending keys.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FeatureError(f"feature table lacks column(s) {missing}; expected {list(columns)}")
    values = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        try:
            col = pd.to_numeric(frame[column], errors="raise").astype("float64").to_numpy()
        except (TypeError, ValueError) as exc:
            raise FeatureError(f"feature column {column!r} is not numeric: {exc}") from exc
        fill = RECENCY_NEVER_PURCHASED_DAYS if column == "recency_days" else 0.0
        col = np.where(np.isnan(col), fill, col)
        if np.isinf(col).any():
            bad = np.flatnonzero(np.isinf(col))[:5]
            keys = frame[key].iloc[bad].tolist() if key in frame.columns else bad.tolist()
            raise FeatureError(f"feature column {column!r} is infinite for {keys}")
        values[:, j] = np.maximum(col, 0.0)
    return values


@dataclass(frozen=True)
class FeatureScaler:
    """log1p on the skewed columns, then (x - mean) / std per column."""

    columns: tuple[str, ...]
    log_mask: np.ndarray  # bool per column
    mean: np.ndarray  # of the log-transformed values
    std: np.ndarray

    def transform(self, values: np.ndarray) -> np.ndarray:
        logged = np.where(self.log_mask, np.log1p(np.maximum(values, 0.0)), values)
        return (logged - self.mean) / self.std

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        logged = scaled * self.std + self.mean
        return np.where(self.log_mask, np.expm1(logged), logged)


def fit_scaler(
    values: np.ndarray,
    columns: Sequence[str] = FEATURE_COLUMNS,
    log_columns: frozenset[str] = LOG_COLUMNS,
) -> FeatureScaler:
    """Learn the log1p + standardisation of a training matrix (constant columns get std 1)."""
    if values.ndim != 2 or values.shape[1] != len(columns):
        raise FeatureError(f"expected a matrix with {len(columns)} columns, got {values.shape}")
    if len(values) == 0:
        raise FeatureError("cannot fit a scaler on zero customers")
    log_mask = np.array([c in log_columns for c in columns])
    logged = np.where(log_mask, np.log1p(np.maximum(values, 0.0)), values)
    mean = logged.mean(axis=0)
    std = logged.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return FeatureScaler(columns=tuple(columns), log_mask=log_mask, mean=mean, std=std)


def mean_shift_in_std(scaler: FeatureScaler, values: np.ndarray) -> dict[str, float]:
    """How far each feature's mean moved since training, in training standard deviations.

    Measured in the model's own (log, scaled) space, so a shift of 0.25 means the average
    customer moved a quarter of a training spread along that axis.
    """
    shifts = scaler.transform(values).mean(axis=0)
    return {c: float(s) for c, s in zip(scaler.columns, shifts, strict=True)}

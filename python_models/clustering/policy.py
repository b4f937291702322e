"""When to retrain the segment model instead of assigning customers to the clusters we have.

Retraining moves centroids, and even with id matching a retrain reshuffles borderline
customers, so it should happen on purpose: when the model is old, or when the customers
have drifted away from what it was trained on. Drift is the shift of each feature's mean,
measured in training standard deviations of the model's own (log, scaled) space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from python_models.clustering.features import mean_shift_in_std
from python_models.clustering.model import SegmentModel


@dataclass(frozen=True)
class RetrainPolicy:
    max_age_days: float = 30.0
    max_mean_shift: float = 0.25


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str
    max_mean_shift: float | None = None
    most_shifted_feature: str | None = None


def decide_retrain(
    previous: SegmentModel | None,
    current_values: np.ndarray,
    now: datetime,
    policy: RetrainPolicy,
    columns: tuple[str, ...],
    force: bool = False,
) -> RetrainDecision:
    """Retrain if forced, no model, features changed, model too old, or means drifted."""
    if force:
        return RetrainDecision(True, "retrain forced by configuration")
    if previous is None:
        return RetrainDecision(True, "no stored model")
    if previous.feature_columns != tuple(columns):
        return RetrainDecision(True, "feature columns changed since the stored model")
    age_days = (now - previous.trained_at).total_seconds() / 86_400
    shifts = mean_shift_in_std(previous.scaler, current_values)
    feature, shift = max(shifts.items(), key=lambda kv: abs(kv[1]))
    shift = abs(shift)
    if age_days > policy.max_age_days:
        return RetrainDecision(
            True,
            f"model {previous.version} is {age_days:.1f} days old (> {policy.max_age_days})",
            shift,
            feature,
        )
    if shift > policy.max_mean_shift:
        return RetrainDecision(
            True,
            f"mean of {feature} moved {shift:.2f} std since training (> {policy.max_mean_shift})",
            shift,
            feature,
        )
    return RetrainDecision(
        False,
        f"model {previous.version} is {age_days:.1f} days old and the largest mean shift is "
        f"{shift:.2f} std ({feature}); assigning with the stored model",
        shift,
        feature,
    )

"""How good a churn score is, and whether a new model may replace the current one.

Metrics a retention team reads: ROC-AUC (ranking), PR-AUC (ranking where churners are
few), the Brier score (are the probabilities honest) and the top-decile lift (how many
more churners the riskiest 10 % hold than a random 10 %). Promotion compares a candidate
with the promoted model on the same metrics: a candidate that is worse is not promoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_decile_lift(y_true: np.ndarray, score: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the `share` highest scores divided by the overall churn rate."""
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(score, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    n_top = max(1, round(len(y) * share))
    # stable sort on -score, so ties keep input order and the result is deterministic
    top = np.argsort(-s, kind="stable")[:n_top]
    return float(y[top].mean() / y.mean())


def classification_metrics(
    y_true: np.ndarray, score: np.ndarray, *, probabilities: bool = True
) -> dict[str, float]:
    """ROC-AUC, PR-AUC, top-decile lift and (for probabilities) the Brier score."""
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(score, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError("metrics need both churners and non-churners in the evaluation set")
    metrics = {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "top_decile_lift": top_decile_lift(y, s),
        "churn_rate": float(y.mean()),
        "n": len(y),
    }
    if probabilities:
        metrics["brier"] = float(brier_score_loss(y, np.clip(s, 0.0, 1.0)))
    return metrics


# Higher is better for these; lower is better for the Brier score.
PROMOTION_METRICS: dict[str, str] = {"roc_auc": "max", "pr_auc": "max", "brier": "min"}


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    candidate: Mapping[str, float],
    current: Mapping[str, float] | None,
    *,
    tolerance: float = 0.005,
    metrics: Mapping[str, str] = PROMOTION_METRICS,
) -> PromotionDecision:
    """Promote unless the candidate is worse than the current model by more than `tolerance`.

    Metrics of the two must be measured on comparable data (the same test cutoff logic);
    a tolerance keeps noise from blocking every retrain.
    """
    if current is None:
        return PromotionDecision(True, "first model")
    worse = []
    for name, direction in metrics.items():
        new, old = candidate.get(name), current.get(name)
        if new is None or old is None or not np.isfinite(new) or not np.isfinite(old):
            continue
        delta = (new - old) if direction == "max" else (old - new)
        if delta < -tolerance:
            worse.append(f"{name} {new:.4f} vs {old:.4f}")
    if worse:
        return PromotionDecision(False, "worse than the promoted model: " + ", ".join(worse))
    return PromotionDecision(True, "metrics at least as good as the promoted model")

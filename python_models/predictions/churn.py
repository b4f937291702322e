"""Churn models: a logistic-regression baseline and gradient-boosted trees, calibrated.

Training frames hold one row per (customer, cutoff), so one customer appears several
times: cross-validation groups folds by customer (StratifiedGroupKFold) so no customer is
in both the fitting and the scoring fold of a search. Each model family gets a small grid
search on ROC-AUC; the winner is refitted on most of the training customers and calibrated
(Platt's sigmoid) on the rest, so its scores are probabilities a retention team can act on.

Each customer's top reasons come from the model's own response: for every feature, the
change in the (uncalibrated) churn probability when that feature is set to the training
median, everything else held; the features that raise the risk most are the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from python_models.predictions.features import FEATURE_LABELS

LOGISTIC = "logistic_regression"
GRADIENT_BOOSTING = "hist_gradient_boosting"


@dataclass(frozen=True)
class ChurnParams:
    """Search space and training knobs; the defaults are the production settings."""

    cv_folds: int = 3
    seed: int = 42
    calibration_share: float = 0.2
    # Platt's sigmoid: two parameters, and it keeps the model's ranking. Isotonic calibration
    # on the sample's calibration share (about 200 consented customers) collapsed the trees'
    # scores to 20 distinct values: ROC-AUC 0.889 -> 0.883 and Brier 0.124 -> 0.130, worse
    # than uncalibrated; the sigmoid was better on ROC-AUC and Brier at every seed tried.
    calibration_method: Literal["sigmoid", "isotonic"] = "sigmoid"
    logistic_c: tuple[float, ...] = (0.1, 1.0)
    # Small, slow trees: a few thousand customers at a dozen cutoffs overfit 15-31 leaves
    # (cross-validated ROC-AUC below the logistic baseline's on the sample; 4-8 leaves beat it)
    hgb_learning_rate: tuple[float, ...] = (0.03, 0.06)
    hgb_max_leaf_nodes: tuple[int, ...] = (4, 8)
    hgb_max_iter: int = 300
    hgb_min_samples_leaf: int = 40
    # OpenMP threads for the trees. One by default: on a shared 2-core machine more threads
    # spin against each other (a 2 s fit took 80 s with the default under load).
    n_threads: int = 1

    def as_dict(self) -> dict[str, object]:
        return {
            "cv_folds": self.cv_folds,
            "seed": self.seed,
            "calibration_share": self.calibration_share,
            "calibration_method": self.calibration_method,
            "logistic_c": list(self.logistic_c),
            "hgb_learning_rate": list(self.hgb_learning_rate),
            "hgb_max_leaf_nodes": list(self.hgb_max_leaf_nodes),
            "hgb_max_iter": self.hgb_max_iter,
            "hgb_min_samples_leaf": self.hgb_min_samples_leaf,
            "n_threads": self.n_threads,
        }


def _estimators(params: ChurnParams) -> dict[str, tuple[object, dict[str, list]]]:
    logistic = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=params.seed)
    )
    trees = HistGradientBoostingClassifier(
        max_iter=params.hgb_max_iter,
        min_samples_leaf=params.hgb_min_samples_leaf,
        early_stopping=False,
        random_state=params.seed,
    )
    return {
        LOGISTIC: (logistic, {"logisticregression__C": list(params.logistic_c)}),
        GRADIENT_BOOSTING: (
            trees,
            {
                "learning_rate": list(params.hgb_learning_rate),
                "max_leaf_nodes": list(params.hgb_max_leaf_nodes),
            },
        ),
    }


@dataclass
class ChurnModel:
    """A fitted, calibrated churn model and what is needed to explain its scores."""

    algorithm: str
    estimator: object
    calibrated: CalibratedClassifierCV
    features: tuple[str, ...]
    reference: np.ndarray
    best_params: dict[str, object]
    cv_roc_auc: float
    cv_results: dict[str, float] = field(default_factory=dict)

    n_threads: int = 1

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=self.n_threads):
            return self.calibrated.predict_proba(feature_matrix(frame, self.features))[:, 1]

    def raw_proba(self, values: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(values)[:, 1]

    def reasons(
        self, frame: pd.DataFrame, top: int = 3, explained: Sequence[int] | None = None
    ) -> list[list[str]]:
        """The `top` features that raise each customer's risk most, as readable phrases.

        `explained` (feature positions, default all) limits the features whose effect is
        measured: `explained_features` picks those that carry nearly every customer's top
        reasons, so scoring a million customers measures a handful, not every feature."""
        values = feature_matrix(frame, self.features)
        with threadpool_limits(limits=self.n_threads):
            contributions = self.contributions(values, explained)
        return reason_phrases(self.features, values, contributions, self.reference, top)

    def contributions(self, values: np.ndarray, explained: Sequence[int] | None = None):
        """p(x) - p(x with feature j at its reference) per row and feature (0 where not
        explained); in closed form for the logistic model, by re-prediction for trees."""
        linear = _linear_contributions(self.estimator, values, self.reference)
        if linear is not None:
            if explained is not None:
                keep = np.zeros(values.shape[1], dtype=bool)
                keep[list(explained)] = True
                linear[:, ~keep] = 0.0
            return linear
        trees = _tree_contributions(
            self.estimator, values, self.reference, explained, self.n_threads
        )
        if trees is not None:
            return trees
        return feature_contributions(self.raw_proba, values, self.reference, explained)


def _linear_contributions(
    estimator: object, values: np.ndarray, reference: np.ndarray
) -> np.ndarray | None:
    """For StandardScaler + LogisticRegression, every feature's change at once: the logit
    moves by coef_j * (x_j - reference_j) / scale_j, so p(x) - p(x at reference_j) is one
    array expression. None for any other estimator."""
    steps = getattr(estimator, "named_steps", None)
    if not steps or set(steps) != {"standardscaler", "logisticregression"}:
        return None
    scaler, logistic = steps["standardscaler"], steps["logisticregression"]
    if logistic.coef_.shape[0] != 1:
        return None
    scale = scaler.scale_ if scaler.scale_ is not None else np.ones(values.shape[1])
    weight = logistic.coef_[0] / scale
    logit = estimator.decision_function(values)
    shift = (values - reference) * weight
    return expit(logit)[:, np.newaxis] - expit(logit[:, np.newaxis] - shift)


def _tree_contributions(
    estimator: object,
    values: np.ndarray,
    reference: np.ndarray,
    explained: Sequence[int] | None,
    n_threads: int,
) -> np.ndarray | None:
    """For a binary HistGradientBoostingClassifier, the same deltas as re-predicting each
    change, computed on the model's own bins and re-predicting only the trees that split on
    the changed feature. A tree's splits are bin thresholds, so a row's prediction from its
    bins equals the one from its values (and a row whose value falls in the reference's bin
    does not change at all); trees that do not split on the feature give the same value either
    way, so each tree's value for the unchanged rows is kept once. None for other estimators.

    Uses the fitted trees (`_predictors`, `_bin_mapper`, `_baseline_prediction`,
    TreePredictor.predict_binned); `test_predictions_churn_reasons` holds it equal to
    re-predicting through the public API.
    """
    if not isinstance(estimator, HistGradientBoostingClassifier):
        return None
    if estimator.n_trees_per_iteration_ != 1 or getattr(estimator, "is_categorical_", None):
        return None
    mapper = estimator._bin_mapper
    bins = np.ascontiguousarray(mapper.transform(np.asarray(values, dtype=np.float64)))
    reference_bins = mapper.transform(np.asarray(reference, dtype=np.float64)[np.newaxis, :])[0]
    missing = mapper.missing_values_bin_idx_
    trees = [iteration[0] for iteration in estimator._predictors]

    def tree_values(tree, rows: np.ndarray) -> np.ndarray:
        return tree.predict_binned(rows, missing, n_threads)

    per_tree = np.empty((len(bins), len(trees)))
    for t, tree in enumerate(trees):
        per_tree[:, t] = tree_values(tree, bins)
    raw = float(estimator._baseline_prediction.ravel()[0]) + per_tree.sum(axis=1)
    base = expit(raw)
    splits = [tree.nodes["feature_idx"][tree.nodes["is_leaf"] == 0] for tree in trees]
    out = np.zeros(bins.shape, dtype=np.float64)
    for j in range(bins.shape[1]) if explained is None else explained:
        using = [t for t, features in enumerate(splits) if (features == j).any()]
        moved = np.flatnonzero(bins[:, j] != reference_bins[j])
        if not using or not len(moved):
            continue
        swapped = bins[moved]
        swapped[:, j] = reference_bins[j]
        change = sum(tree_values(trees[t], swapped) for t in using) - per_tree[
            np.ix_(moved, using)
        ].sum(axis=1)
        out[moved, j] = base[moved] - expit(raw[moved] + change)
    return out


def explained_features(
    model: ChurnModel, sample: np.ndarray, top: int = 3, coverage: float = 0.99
) -> tuple[list[int], float]:
    """(feature positions, share of the sample whose reasons they reproduce exactly).

    Every feature's effect is measured on `sample` (a few thousand customers); features are
    taken by how often they are among a customer's `top` reasons there, until the customers
    whose reasons all lie in the chosen set reach `coverage`. For those customers the
    reasons computed from the chosen features alone are exactly the full computation's (the
    same top `top`, in the same order); the others may get a lesser reason in a slot."""
    with threadpool_limits(limits=model.n_threads):
        contributions = model.contributions(sample)
    slots = _reason_slots(contributions, top)
    n_features = sample.shape[1]
    counts = np.bincount(slots[slots >= 0], minlength=n_features)
    ranked = [int(j) for j in np.argsort(-counts, kind="stable") if counts[j] > 0]
    chosen: list[int] = []
    reproduced = 1.0 if len(sample) == 0 else float((slots < 0).all(axis=1).mean())
    for j in ranked:
        if reproduced >= coverage and len(chosen) >= top:
            break
        chosen.append(j)
        inside = np.isin(slots, chosen) | (slots < 0)
        reproduced = float(inside.all(axis=1).mean())
    return sorted(chosen), reproduced


def _reason_slots(contributions: np.ndarray, top: int) -> np.ndarray:
    """Per row, the positions of the `top` largest positive contributions, best first; -1
    once they run out (a feature that lowers the risk is no reason)."""
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    positive = np.take_along_axis(contributions, order, axis=1) > 0
    return np.where(positive, order, -1)


def reason_phrases(
    features: Sequence[str],
    values: np.ndarray,
    contributions: np.ndarray,
    reference: np.ndarray,
    top: int = 3,
) -> list[list[str]]:
    """Each row's reasons as phrases; each (feature, value) is formatted once, not per row."""
    slots = _reason_slots(contributions, top)
    rows = np.arange(len(values))[:, np.newaxis]
    phrase = np.full(slots.shape, None, dtype=object)
    for j in np.unique(slots[slots >= 0]):
        at = slots == j
        seen, inverse = np.unique(values[rows.repeat(top, axis=1)[at], j], return_inverse=True)
        texts = np.array(
            [reason_phrase(features[j], v, reference[j]) for v in seen.tolist()], dtype=object
        )
        phrase[at] = texts[inverse.ravel()]
    out = [[p for p in row if p is not None] for row in phrase.tolist()]
    return [row or [NO_REASON] for row in out]


NO_REASON = "no feature raises the risk above a typical customer's"


class FeatureMatrixError(ValueError):
    """The frame lacks model features or holds non-finite values (names them)."""


def feature_matrix(frame: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise FeatureMatrixError(f"missing feature columns: {missing}")
    values = frame[list(features)].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        column = features[int(np.argwhere(bad)[0][1])]
        raise FeatureMatrixError(f"{int(bad.sum())} non-finite values, e.g. in {column!r}")
    return values


def feature_contributions(
    predict, values: np.ndarray, reference: np.ndarray, explained: Sequence[int] | None = None
) -> np.ndarray:
    """p(x) - p(x with feature j set to its reference), for every row and feature j in
    `explained` (default all; the others stay 0).

    Rows already at the reference for j are not predicted again (their change is exactly 0):
    most customers have no returns, tickets or recent visits, so most rows skip most features.
    """
    base = predict(values)
    out = np.zeros_like(values)
    for j in range(values.shape[1]) if explained is None else explained:
        moved = values[:, j] != reference[j]
        if not moved.any():
            continue
        swapped = values[moved]
        swapped[:, j] = reference[j]
        out[moved, j] = base[moved] - predict(swapped)
    return out


def reason_phrase(feature: str, value: float, typical: float) -> str:
    label = FEATURE_LABELS.get(feature, feature)
    return f"{label}: {value:,.4g} (typical {typical:,.4g})"


def _group_split(groups: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row masks (fit, calibrate): whole customers go to one side, `share` to calibration."""
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    calibration_groups = rng.choice(unique, size=max(1, round(len(unique) * share)), replace=False)
    calibrate = np.isin(groups, calibration_groups)
    return ~calibrate, calibrate


def search_model(
    algorithm: str,
    values: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    params: ChurnParams,
) -> tuple[object, dict[str, object], float, dict[str, float]]:
    """Grid search with customer-grouped stratified folds; (estimator, params, cv AUC, grid)."""
    estimator, grid = _estimators(params)[algorithm]
    folds = StratifiedGroupKFold(n_splits=params.cv_folds, shuffle=True, random_state=params.seed)
    search = GridSearchCV(estimator, grid, scoring="roc_auc", cv=folds, n_jobs=1, refit=False)
    search.fit(values, labels, groups=groups)
    by_params = {
        ", ".join(f"{k.split('__')[-1]}={v}" for k, v in p.items()): round(float(score), 5)
        for p, score in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
        )
    }
    return estimator, search.best_params_, float(search.best_score_), by_params


def fit_churn_model(
    algorithm: str,
    frame: pd.DataFrame,
    labels: np.ndarray,
    groups: np.ndarray,
    features: Sequence[str],
    params: ChurnParams,
) -> ChurnModel:
    """Search, refit the best setting on the fitting customers, calibrate on the others."""
    values = feature_matrix(frame, features)
    y = np.asarray(labels, dtype=int)
    g = np.asarray(groups)
    if len(np.unique(y)) < 2:
        raise ValueError("training data holds only one class: widen the window or add cutoffs")
    with threadpool_limits(limits=params.n_threads):
        estimator, best, cv_auc, by_params = search_model(algorithm, values, y, g, params)
        fit_rows, calibration_rows = _group_split(g, params.calibration_share, params.seed)
        if len(np.unique(y[calibration_rows])) < 2 or len(np.unique(y[fit_rows])) < 2:
            fit_rows = calibration_rows = np.ones(len(y), dtype=bool)
        model = _clone_with(estimator, best).fit(values[fit_rows], y[fit_rows])
        calibrated = CalibratedClassifierCV(
            FrozenEstimator(model), method=params.calibration_method
        )
        calibrated.fit(values[calibration_rows], y[calibration_rows])
    return ChurnModel(
        algorithm=algorithm,
        estimator=model,
        calibrated=calibrated,
        features=tuple(features),
        reference=np.median(values, axis=0),
        best_params={k.split("__")[-1]: v for k, v in best.items()},
        cv_roc_auc=cv_auc,
        cv_results=by_params,
        n_threads=params.n_threads,
    )


def _clone_with(estimator: object, best: dict[str, object]) -> object:
    from sklearn.base import clone

    model = clone(estimator)
    model.set_params(**best)
    return model


def risk_band(probability: np.ndarray, medium: float, high: float) -> np.ndarray:
    """'low' / 'medium' / 'high' by calibrated churn probability."""
    p = np.asarray(probability, dtype=float)
    return np.where(p >= high, "high", np.where(p >= medium, "medium", "low")).astype(object)

"""Fit, compare and apply the micro-segment model: K-Means over a k range, a GMM challenger.

The model is trained on a sample (a few hundred thousand customers carry all the shape there
is) and then scores every customer in batches. k is chosen by the silhouette of each K-Means
solution, measured on one fixed sub-sample so every k is judged on the same customers; the
inertia of each k is kept too, so an analyst can still read the elbow. A GaussianMixture at
the chosen k is the challenger: it replaces K-Means only if it separates the same customers
clearly better (silhouette higher by `gmm_margin`) without leaving a component nearly empty,
because K-Means centroids and distances are easier to explain and more stable between
retrains. Cluster ids are stable: after a retrain the new clusters are matched to the old
ones by centroid distance (Hungarian assignment), so "cluster 3" keeps meaning one group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from python_models.clustering.features import FEATURE_COLUMNS, FeatureScaler, fit_scaler

Algorithm = Literal["kmeans", "gmm"]


@dataclass(frozen=True)
class ClusteringParams:
    """Knobs of a training run; defaults are what the pipeline uses."""

    k_min: int = 3
    k_max: int = 10
    silhouette_sample_size: int = 5_000
    kmeans_n_init: int = 3
    gmm_margin: float = 0.02  # silhouette the GMM must win by to replace K-Means
    min_cluster_share: float = 0.005  # a solution with a smaller cluster is degenerate
    tree_max_depth: int = 3
    max_match_distance: float | None = None  # beyond this a new cluster gets a fresh id
    seed: int = 42

    def __post_init__(self) -> None:
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}")


@dataclass(frozen=True)
class KSelection:
    """Per-k quality of the K-Means solutions on the training sample."""

    k_values: list[int]
    inertia: list[float]
    silhouette: list[float]
    smallest_share: list[float]  # share of customers in the smallest cluster, per k
    best_k: int

    def as_dicts(self) -> tuple[dict[str, float], dict[str, float]]:
        inertia = {str(k): round(v, 3) for k, v in zip(self.k_values, self.inertia, strict=True)}
        silhouette = {
            str(k): round(v, 4) for k, v in zip(self.k_values, self.silhouette, strict=True)
        }
        return inertia, silhouette


@dataclass
class SegmentModel:
    """Everything needed to score a customer and explain the answer, saved with joblib."""

    version: str
    trained_at: datetime
    algorithm: Algorithm
    scaler: FeatureScaler
    estimator: KMeans | GaussianMixture
    centroids_scaled: np.ndarray  # row i = internal label i, in scaled feature space
    cluster_ids: np.ndarray  # internal label -> stable cluster id
    n_train: int
    selection: KSelection
    metrics: dict[str, float | int | str | None] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)  # stable id -> label
    rules: dict[int, list[str]] = field(default_factory=dict)  # stable id -> readable rules
    centroid_z: dict[int, dict[str, float]] = field(default_factory=dict)  # id -> z per feature
    tree_text: str = ""

    @property
    def k(self) -> int:
        return len(self.cluster_ids)

    @property
    def silhouette(self) -> float | None:
        """Silhouette of the chosen algorithm on the fixed probe sample."""
        value = self.metrics.get(f"{self.algorithm}_silhouette")
        return None if value is None else float(value)

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return self.scaler.columns

    def centroids_by_id(self) -> dict[int, np.ndarray]:
        """Stable cluster id -> centroid in scaled space."""
        return {int(cid): self.centroids_scaled[i] for i, cid in enumerate(self.cluster_ids)}

    def predict(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stable cluster id and Euclidean distance (scaled space) to its centroid, per row."""
        scaled = self.scaler.transform(values)
        internal = self.estimator.predict(scaled)
        diff = scaled - self.centroids_scaled[internal]
        distance = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return self.cluster_ids[internal].astype(np.int32), distance


def _fixed_subsample(n_rows: int, size: int, seed: int) -> np.ndarray:
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def select_k(scaled: np.ndarray, params: ClusteringParams) -> tuple[KSelection, dict[int, KMeans]]:
    """Fit K-Means for every k in range; pick the k with the best silhouette."""
    n_rows = len(scaled)
    k_max = min(params.k_max, n_rows - 1)
    if k_max < params.k_min:
        raise ValueError(f"{n_rows} customers are too few to try k >= {params.k_min}")
    probe = _fixed_subsample(n_rows, params.silhouette_sample_size, params.seed)
    k_values, inertia, silhouette, smallest, fitted = [], [], [], [], {}
    for k in range(params.k_min, k_max + 1):
        km = KMeans(n_clusters=k, n_init=params.kmeans_n_init, random_state=params.seed)
        km.fit(scaled)
        labels = km.labels_[probe]
        score = (
            float(silhouette_score(scaled[probe], labels)) if len(np.unique(labels)) > 1 else -1.0
        )
        k_values.append(k)
        inertia.append(float(km.inertia_))
        silhouette.append(score)
        smallest.append(float(np.bincount(km.labels_, minlength=k).min() / n_rows))
        fitted[k] = km
    # A solution with a near-empty cluster is not a segmentation a marketer can use, however
    # well separated; it is only chosen when every k is like that.
    usable = [i for i, share in enumerate(smallest) if share >= params.min_cluster_share]
    candidates = usable or list(range(len(k_values)))
    best_k = k_values[max(candidates, key=lambda i: silhouette[i])]
    return KSelection(k_values, inertia, silhouette, smallest, best_k), fitted


@dataclass(frozen=True)
class AlgorithmChoice:
    algorithm: Algorithm
    estimator: KMeans | GaussianMixture
    centroids_scaled: np.ndarray
    train_labels: np.ndarray
    kmeans_silhouette: float
    gmm_silhouette: float | None
    gmm_bic: float | None
    reason: str


def choose_algorithm(
    scaled: np.ndarray, kmeans: KMeans, kmeans_silhouette: float, params: ClusteringParams
) -> AlgorithmChoice:
    """Fit a full-covariance GMM at K-Means' k and keep it only if clearly better."""
    k = kmeans.n_clusters
    probe = _fixed_subsample(len(scaled), params.silhouette_sample_size, params.seed)
    gmm = GaussianMixture(
        n_components=k, covariance_type="full", random_state=params.seed, reg_covar=1e-4
    )
    try:
        gmm.fit(scaled)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return AlgorithmChoice(
            "kmeans",
            kmeans,
            kmeans.cluster_centers_,
            kmeans.labels_,
            kmeans_silhouette,
            None,
            None,
            f"GMM failed to fit ({exc}); kept K-Means",
        )
    gmm_labels = gmm.predict(scaled)
    gmm_bic = float(gmm.bic(scaled))
    used = np.unique(gmm_labels[probe])
    gmm_sil = float(silhouette_score(scaled[probe], gmm_labels[probe])) if len(used) > 1 else -1.0
    shares = np.bincount(gmm_labels, minlength=k) / len(scaled)
    if shares.min() < params.min_cluster_share:
        reason = f"GMM left a component with {shares.min():.2%} of customers; kept K-Means"
    elif gmm_sil > kmeans_silhouette + params.gmm_margin:
        return AlgorithmChoice(
            "gmm",
            gmm,
            gmm.means_,
            gmm_labels,
            kmeans_silhouette,
            gmm_sil,
            gmm_bic,
            f"GMM silhouette {gmm_sil:.3f} beats K-Means {kmeans_silhouette:.3f} "
            f"by more than {params.gmm_margin}",
        )
    else:
        reason = (
            f"GMM silhouette {gmm_sil:.3f} does not beat K-Means {kmeans_silhouette:.3f} "
            f"by more than {params.gmm_margin}; kept K-Means"
        )
    return AlgorithmChoice(
        "kmeans",
        kmeans,
        kmeans.cluster_centers_,
        kmeans.labels_,
        kmeans_silhouette,
        gmm_sil,
        gmm_bic,
        reason,
    )


def initial_cluster_ids(train_labels: np.ndarray, k: int) -> np.ndarray:
    """First model: id 0 is the largest cluster, then by size (ties by internal label)."""
    sizes = np.bincount(train_labels, minlength=k)
    order = sorted(range(k), key=lambda i: (-sizes[i], i))
    ids = np.empty(k, dtype=np.int32)
    for stable_id, internal in enumerate(order):
        ids[internal] = stable_id
    return ids


def match_cluster_ids(
    new_centroids: np.ndarray,
    previous_centroids: dict[int, np.ndarray],
    max_distance: float | None = None,
) -> np.ndarray:
    """Give each new cluster the id of the previous cluster nearest to it (one-to-one).

    Both centroid sets must be in the same feature space. Hungarian assignment minimises the
    total centroid distance; clusters left over (k grew, or the nearest old one is farther
    than `max_distance`) get fresh ids above every id used before, so an id is never reused
    for a different group.
    """
    k = len(new_centroids)
    ids = np.full(k, -1, dtype=np.int32)
    if previous_centroids:
        prev_ids = np.array(sorted(previous_centroids), dtype=np.int32)
        prev = np.stack([previous_centroids[i] for i in prev_ids])
        cost = np.linalg.norm(new_centroids[:, None, :] - prev[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if max_distance is None or cost[r, c] <= max_distance:
                ids[r] = prev_ids[c]
        next_id = int(prev_ids.max()) + 1
    else:
        next_id = 0
    for r in range(k):
        if ids[r] < 0:
            ids[r] = next_id
            next_id += 1
    return ids


def previous_centroids_in(scaler: FeatureScaler, previous: SegmentModel) -> dict[int, np.ndarray]:
    """The previous model's centroids re-expressed in a new model's scaled space."""
    if previous.feature_columns != scaler.columns:
        raise ValueError(
            f"previous model {previous.version} used features {previous.feature_columns}, "
            f"new model uses {scaler.columns}; ids cannot be matched"
        )
    original = previous.scaler.inverse_transform(previous.centroids_scaled)
    rescaled = scaler.transform(original)
    return {int(cid): rescaled[i] for i, cid in enumerate(previous.cluster_ids)}


def fit_segment_model(
    values: np.ndarray,
    version: str,
    trained_at: datetime,
    params: ClusteringParams | None = None,
    previous: SegmentModel | None = None,
    columns: tuple[str, ...] = FEATURE_COLUMNS,
) -> tuple[SegmentModel, np.ndarray]:
    """Train on a sample matrix; return the model and the stable id of every training row.

    Labels and rules are not filled here; `profiles.describe_model` adds them.
    """
    params = params or ClusteringParams()
    scaler = fit_scaler(values, columns)
    scaled = scaler.transform(values)
    selection, fitted = select_k(scaled, params)
    best = fitted[selection.best_k]
    best_sil = selection.silhouette[selection.k_values.index(selection.best_k)]
    choice = choose_algorithm(scaled, best, best_sil, params)
    k = selection.best_k
    if previous is None:
        ids = initial_cluster_ids(choice.train_labels, k)
    else:
        ids = match_cluster_ids(
            choice.centroids_scaled,
            previous_centroids_in(scaler, previous),
            params.max_match_distance,
        )
    model = SegmentModel(
        version=version,
        trained_at=trained_at,
        algorithm=choice.algorithm,
        scaler=scaler,
        estimator=choice.estimator,
        centroids_scaled=np.asarray(choice.centroids_scaled, dtype=np.float64),
        cluster_ids=ids,
        n_train=len(values),
        selection=selection,
        metrics={
            "kmeans_silhouette": round(choice.kmeans_silhouette, 4),
            "gmm_silhouette": None
            if choice.gmm_silhouette is None
            else round(choice.gmm_silhouette, 4),
            "gmm_bic": None if choice.gmm_bic is None else round(choice.gmm_bic, 1),
            "algorithm_reason": choice.reason,
            "previous_version": None if previous is None else previous.version,
        },
    )
    return model, ids[choice.train_labels]

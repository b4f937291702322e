"""Next-best products: item-item collaborative filtering, a content fallback, and a hybrid.

Implicit feedback becomes one sparse user x item matrix (scipy CSR): each interaction adds
its event weight (purchase > add to cart > view, configurable), and a cell is
log1p(sum), so a hundred views do not drown one purchase. Item-item similarity is the
cosine between item columns, kept as the top `neighbours` per item. Content similarity is
the cosine between items' category and tag vectors. A user's score for an item blends the
two, each scaled to [0, 1] per user (`cf_weight`), plus a small popularity prior that
breaks ties and fills the list for a user the other two say nothing about (cold start).

Items a user already bought are excluded unless their category is a consumable one (one
buys coffee again, not a tent). Each recommendation carries its reason: "bought with X"
(the user's item that contributes most to the collaborative score), "similar to X", or
"popular in Y". Evaluation splits per user in time: each user's last 20 % of interactions
are the test set, as the issue asks (a global cut leaves few users and favours popularity).

A challenger, matrix factorisation by alternating least squares (`implicit`), is fitted on
the same matrix when asked (`with_als`) and scored next to the others in the evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from threadpoolctl import threadpool_limits

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"purchase": 5.0, "add_to_cart": 3.0, "view": 1.0}


class InteractionsError(ValueError):
    """Interactions lack a column or hold an event type without a weight (names them)."""


@dataclass(frozen=True)
class RecommenderParams:
    top_n: int = 10
    neighbours: int = 50
    cf_weight: float = 0.7
    popularity_weight: float = 0.05
    event_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    consumable_categories: tuple[str, ...] = ()
    batch_size: int = 20_000
    # the ALS challenger (implicit): latent factors, L2 penalty, sweeps, confidence scale
    als_factors: int = 32
    als_regularization: float = 0.05
    als_iterations: int = 15
    als_alpha: float = 4.0
    seed: int = 42

    def as_dict(self) -> dict[str, object]:
        return {
            "top_n": self.top_n,
            "neighbours": self.neighbours,
            "cf_weight": self.cf_weight,
            "popularity_weight": self.popularity_weight,
            "event_weights": dict(self.event_weights),
            "consumable_categories": list(self.consumable_categories),
            "als": {
                "factors": self.als_factors,
                "regularization": self.als_regularization,
                "iterations": self.als_iterations,
                "alpha": self.als_alpha,
            },
        }


@dataclass
class Recommender:
    """A fitted recommender: index maps, the interaction matrix and both similarities."""

    users: pd.Index
    items: pd.Index
    item_category: np.ndarray
    item_name: np.ndarray
    matrix: sparse.csr_matrix  # users x items, log1p(weight)
    purchased: sparse.csr_matrix  # users x items, 1 where bought
    item_similarity: sparse.csr_matrix  # items x items, top-k cosine, no diagonal
    content_similarity: np.ndarray  # items x items
    popularity: np.ndarray  # per item, scaled to [0, 1]
    consumable: np.ndarray  # per item, bool
    params: RecommenderParams
    user_factors: np.ndarray | None = None  # users x factors (ALS), when fitted
    item_factors: np.ndarray | None = None  # items x factors (ALS), when fitted


def interaction_weights(interactions: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """The weight of each row: its `weight` column if present, else its event type's weight."""
    if "weight" in interactions.columns and interactions["weight"].notna().all():
        return interactions["weight"].to_numpy(float)
    if "event_type" not in interactions.columns:
        raise InteractionsError("interactions need an 'event_type' or a 'weight' column")
    unknown = sorted(set(interactions["event_type"].unique()) - set(weights))
    if unknown:
        raise InteractionsError(
            f"event types without a weight: {unknown}; known: {sorted(weights)}"
        )
    per_row = interactions["event_type"].map(weights).to_numpy(float)
    # rows already counted in SQL (one per user, item and event type) carry a `count`
    if "count" in interactions.columns:
        per_row = per_row * interactions["count"].to_numpy(float)
    return per_row


def _content_vectors(catalog: pd.DataFrame, items: pd.Index) -> sparse.csr_matrix:
    """One row per item: its category and tags, one-hot, L2-normalised."""
    info = catalog.set_index("item_id").reindex(items)
    tokens: list[list[str]] = []
    for category, tags in zip(info["category"], info["tags"], strict=True):
        row = [f"category:{category}"] if isinstance(category, str) else []
        if isinstance(tags, str):
            row += [f"tag:{t.strip()}" for t in tags.split("|") if t.strip()]
        elif isinstance(tags, list | tuple | np.ndarray):
            row += [f"tag:{t}" for t in tags if t]
        tokens.append(row)
    vocabulary = {t: k for k, t in enumerate(sorted({t for row in tokens for t in row}))}
    rows = [i for i, row in enumerate(tokens) for _ in row]
    cols = [vocabulary[t] for row in tokens for t in row]
    vectors = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(items), max(len(vocabulary), 1))
    )
    return _normalise_rows(vectors)


def _normalise_rows(m: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ m


def fit_als(matrix: sparse.csr_matrix, params: RecommenderParams) -> tuple[np.ndarray, np.ndarray]:
    """(user factors, item factors) of implicit's ALS on a users x items matrix, whose cells
    (log1p of the weights) times `als_alpha` are the confidences. One thread: on a shared
    2-core machine more only spin against each other."""
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1):
        model = AlternatingLeastSquares(
            factors=params.als_factors,
            regularization=params.als_regularization,
            iterations=params.als_iterations,
            alpha=params.als_alpha,
            random_state=params.seed,
            num_threads=1,
        )
        model.fit(matrix.astype(np.float32).tocsr(), show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def _top_k_per_row(m: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    m = m.tocsr()
    m.setdiag(0)
    m.eliminate_zeros()
    rows, cols, vals = [], [], []
    for i in range(m.shape[0]):
        start, end = m.indptr[i], m.indptr[i + 1]
        if end == start:
            continue
        data, index = m.data[start:end], m.indices[start:end]
        keep = np.argsort(-data, kind="stable")[:k]
        rows.extend([i] * len(keep))
        cols.extend(index[keep])
        vals.extend(data[keep])
    return sparse.csr_matrix((vals, (rows, cols)), shape=m.shape)


def fit_recommender(
    interactions: pd.DataFrame,
    catalog: pd.DataFrame,
    params: RecommenderParams | None = None,
    users: Sequence[str] | None = None,
    training_users: Sequence[str] | None = None,
    *,
    with_als: bool = False,
) -> Recommender:
    """Fit on interactions (user_id, item_id, event_type|weight) and a catalog
    (item_id, category, tags[, name]). `users` adds users without interactions (cold start).

    With `training_users`, only their interactions teach the model (item similarity and
    popularity); everyone's own history still chooses what they are recommended."""
    params = params or RecommenderParams()
    for column in ("user_id", "item_id"):
        if column not in interactions.columns:
            raise InteractionsError(f"interactions need a {column!r} column")
    weights = interaction_weights(interactions, params.event_weights)
    known_users = pd.Index(pd.unique(interactions["user_id"].astype(str)))
    if users is not None:
        known_users = known_users.union(pd.Index([str(u) for u in users]), sort=False)
    all_items = pd.Index(
        pd.unique(pd.concat([catalog["item_id"].astype(str), interactions["item_id"].astype(str)]))
    )
    u = known_users.get_indexer(interactions["user_id"].astype(str))
    i = all_items.get_indexer(interactions["item_id"].astype(str))
    shape = (len(known_users), len(all_items))
    summed = sparse.csr_matrix((weights, (u, i)), shape=shape)
    summed.sum_duplicates()
    matrix = summed.copy()
    matrix.data = np.log1p(matrix.data)
    is_purchase = (
        interactions["event_type"].eq("purchase").to_numpy()
        if "event_type" in interactions.columns
        else np.zeros(len(interactions), bool)
    )
    purchased = sparse.csr_matrix(
        (np.ones(int(is_purchase.sum())), (u[is_purchase], i[is_purchase])), shape=shape
    )
    purchased.data[:] = 1.0

    learning = matrix
    if training_users is not None:
        allowed = known_users.isin(pd.Index([str(t) for t in training_users]))
        learning = sparse.diags(allowed.astype(float)) @ matrix
    columns = _normalise_rows(learning.T.tocsr())  # items x users
    item_similarity = _top_k_per_row(columns @ columns.T, params.neighbours)
    content = _content_vectors(catalog.assign(item_id=catalog["item_id"].astype(str)), all_items)
    content_similarity = (content @ content.T).toarray()
    np.fill_diagonal(content_similarity, 0.0)

    counts = np.asarray((learning > 0).sum(axis=0)).ravel().astype(float)
    popularity = counts / counts.max() if counts.max() > 0 else counts
    info = catalog.assign(item_id=catalog["item_id"].astype(str)).set_index("item_id")
    info = info.reindex(all_items)
    category = info["category"].fillna("unknown").to_numpy(object)
    names = (
        info["name"].fillna(pd.Series(all_items, index=all_items)).to_numpy(object)
        if "name" in info.columns
        else np.asarray(all_items, dtype=object)
    )
    consumable = np.isin(category, list(params.consumable_categories))
    user_factors = item_factors = None
    if with_als:
        # learnt from the consented rows; every user's factors then follow from their own row
        _, item_factors = fit_als(learning, params)
        user_factors = _als_user_factors(matrix, item_factors, params)
    return Recommender(
        users=known_users,
        items=all_items,
        item_category=category,
        item_name=names,
        matrix=matrix,
        purchased=purchased,
        item_similarity=item_similarity,
        content_similarity=content_similarity,
        popularity=popularity,
        consumable=consumable,
        params=params,
        user_factors=user_factors,
        item_factors=item_factors,
    )


def _als_user_factors(
    matrix: sparse.csr_matrix, item_factors: np.ndarray, params: RecommenderParams
) -> np.ndarray:
    """Each user's least-squares factors given fixed item factors (one ALS half-step), so a
    user left out of the learning still gets factors from their own interactions."""
    y = item_factors.astype(np.float64)
    k = y.shape[1]
    yty = y.T @ y
    out = np.zeros((matrix.shape[0], k))
    for u in range(matrix.shape[0]):
        start, end = matrix.indptr[u], matrix.indptr[u + 1]
        if end == start:
            continue
        idx = matrix.indices[start:end]
        confidence = params.als_alpha * matrix.data[start:end]
        yu = y[idx]
        a = yty + (yu.T * confidence) @ yu + params.als_regularization * np.eye(k)
        out[u] = np.linalg.solve(a, (yu.T * (1 + confidence)).sum(axis=1))
    return out


def _scale_rows(m: np.ndarray) -> np.ndarray:
    top = m.max(axis=1, keepdims=True)
    top[top <= 0] = 1.0
    return np.clip(m, 0, None) / top


SOURCES = ("item_item", "content", "popularity", "als")


@dataclass
class Recommendations:
    """Top-N per user in rank order: item indices (-1 when fewer candidates), scores, and per
    pick its source (index into SOURCES) and anchor item (the user's item behind it, or -1)."""

    users: pd.Index
    items: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    anchor: np.ndarray


def score_users(
    model: Recommender,
    user_rows: np.ndarray,
    *,
    method: str = "hybrid",
    exclude: sparse.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense scores (len(user_rows) x items) by `method`, and the scaled cf and content parts."""
    x = model.matrix[user_rows].toarray()
    cf = np.asarray(model.item_similarity.T.dot(x.T).T)
    content = x @ model.content_similarity
    cf_s, content_s = _scale_rows(cf), _scale_rows(content)
    w = model.params.cf_weight
    if method == "popularity":
        score = np.tile(model.popularity, (len(user_rows), 1))
    elif method == "item_item":
        score = cf_s + 1e-6 * model.popularity
    elif method == "content":
        score = content_s + 1e-6 * model.popularity
    elif method == "als":
        if model.user_factors is None or model.item_factors is None:
            raise ValueError("method 'als' needs a model fitted with with_als=True")
        score = _scale_rows(model.user_factors[user_rows] @ model.item_factors.T)
        score = score + 1e-6 * model.popularity
    else:
        score = w * cf_s + (1 - w) * content_s + model.params.popularity_weight * model.popularity
    blocked = model.purchased[user_rows].toarray() > 0
    blocked &= ~model.consumable[np.newaxis, :]
    if exclude is not None:
        blocked |= exclude[user_rows].toarray() > 0
    score = np.where(blocked, -np.inf, score)
    return score, cf_s, content_s


def recommend(
    model: Recommender,
    user_ids: Sequence[str] | None = None,
    *,
    method: str = "hybrid",
    top_n: int | None = None,
    exclude: sparse.csr_matrix | None = None,
) -> Recommendations:
    """Top-N items per user, in batches (users x items never lives in memory at once)."""
    top_n = top_n or model.params.top_n
    users = model.users if user_ids is None else pd.Index([str(u) for u in user_ids])
    rows = model.users.get_indexer(users)
    if (rows < 0).any():
        raise KeyError(f"unknown users, e.g. {users[rows < 0][:3].tolist()}")
    shape = (len(rows), top_n)
    out_items = np.full(shape, -1, dtype=np.int64)
    out_scores = np.zeros(shape)
    out_source = np.full(shape, SOURCES.index("popularity"), dtype=np.int8)
    out_anchor = np.full(shape, -1, dtype=np.int64)
    similarity = model.item_similarity.toarray()
    for start in range(0, len(rows), model.params.batch_size):
        batch = rows[start : start + model.params.batch_size]
        stop = start + len(batch)
        score, cf_s, content_s = score_users(model, batch, method=method, exclude=exclude)
        k = min(top_n, score.shape[1])
        part = np.argpartition(-score, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(score, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        best = np.take_along_axis(part, order, axis=1)
        best_scores = np.take_along_axis(part_scores, order, axis=1)
        valid = np.isfinite(best_scores)
        out_items[start:stop, :k] = np.where(valid, best, -1)
        out_scores[start:stop, :k] = np.where(valid, best_scores, 0.0)
        if method == "als":
            out_source[start:stop, :k] = np.where(valid, SOURCES.index("als"), 2)
        if method in ("popularity", "als"):
            continue
        xs = model.matrix[batch]
        nnz_row = np.repeat(np.arange(len(batch)), np.diff(xs.indptr))
        for rank in range(k):
            item = best[:, rank]
            cf = cf_s[np.arange(len(batch)), item]
            content = content_s[np.arange(len(batch)), item]
            use_cf = (cf >= content) & (cf > 0)
            use_content = ~use_cf & (content > 0)
            # the user's own item that contributes most to this pick, under the winning part
            cf_anchor = _row_argmax(xs, nnz_row, xs.data * similarity[xs.indices, item[nnz_row]])
            content_anchor = _row_argmax(
                xs, nnz_row, xs.data * model.content_similarity[xs.indices, item[nnz_row]]
            )
            source = np.where(use_cf, 0, np.where(use_content, 1, 2))
            anchor = np.where(use_cf, cf_anchor, np.where(use_content, content_anchor, -1))
            out_source[start:stop, rank] = np.where(valid[:, rank], source, 2)
            out_anchor[start:stop, rank] = np.where(valid[:, rank], anchor, -1)
    return Recommendations(users, out_items, out_scores, out_source, out_anchor)


def _row_argmax(xs: sparse.csr_matrix, nnz_row: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row of `xs`, the column of its largest `values` entry (-1 for an empty row).

    Works on the stored entries only (a user's own items), so it costs O(nnz), not
    users x items.
    """
    out = np.full(xs.shape[0], -1, dtype=np.int64)
    if len(values) == 0:
        return out
    order = np.lexsort((-values, nnz_row))
    starts = xs.indptr[:-1]
    filled = np.diff(xs.indptr) > 0
    out[filled] = xs.indices[order[starts[filled]]]
    return out


def recommendations_frame(model: Recommender, recs: Recommendations) -> pd.DataFrame:
    """Long format: user_id, rank, item_id, item_name, score, reason, source (valid picks only)."""
    n_users, top_n = recs.items.shape
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.asarray(recs.users, dtype=object), top_n),
            "rank": np.tile(np.arange(1, top_n + 1), n_users),
            "item": recs.items.ravel(),
            "score": recs.scores.ravel(),
            "source": np.asarray(SOURCES, dtype=object)[recs.source.ravel()],
            "anchor": recs.anchor.ravel(),
        }
    )
    frame = frame[frame["item"] >= 0]
    item = frame["item"].to_numpy()
    anchor = frame["anchor"].to_numpy()
    anchor_name = pd.Series(
        np.where(anchor >= 0, model.item_name[np.maximum(anchor, 0)], ""), index=frame.index
    ).astype(str)
    category = pd.Series(model.item_category[item], index=frame.index).astype(str)
    reason = np.where(
        frame["source"].eq("item_item"),
        "bought with " + anchor_name,
        np.where(
            frame["source"].eq("content"),
            "similar to " + anchor_name,
            np.where(
                frame["source"].eq("als"),
                "liked by customers with your taste",
                "popular in " + category,
            ),
        ),
    )
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].to_numpy(),
            "rank": frame["rank"].to_numpy(),
            "item_id": np.asarray(model.items, dtype=object)[item],
            "item_name": model.item_name[item],
            "score": frame["score"].to_numpy(),
            "reason": reason,
            "source": frame["source"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------------------
# Offline evaluation
# --------------------------------------------------------------------------------------


def per_user_time_split(
    interactions: pd.DataFrame, test_share: float = 0.2, min_interactions: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): each user's last `test_share` of interactions (at least one) is test.

    Users with fewer than `min_interactions` stay wholly in train. Ties in time are broken
    by item id so the split is deterministic.
    """
    frame = interactions.sort_values(["user_id", "occurred_at", "item_id"], kind="stable")
    position = frame.groupby("user_id").cumcount()
    size = frame.groupby("user_id")["item_id"].transform("size")
    n_test = np.maximum(1, np.floor(size * test_share)).astype(int)
    is_test = (size >= min_interactions) & (position >= size - n_test)
    return frame[~is_test], frame[is_test]


@dataclass(frozen=True)
class RankingMetrics:
    precision_at_k: float
    recall_at_k: float
    coverage: float
    users: int

    def as_dict(self) -> dict[str, float]:
        return {
            "precision_at_10": round(self.precision_at_k, 5),
            "recall_at_10": round(self.recall_at_k, 5),
            "coverage": round(self.coverage, 5),
            "users": self.users,
        }


def ranking_metrics(
    recommended: Recommendations, items: pd.Index, relevant: Mapping[str, set[str]], k: int
) -> RankingMetrics:
    precision, recall = [], []
    shown: set[int] = set()
    for user, row in zip(recommended.users, recommended.items, strict=True):
        truth = relevant.get(user)
        if not truth:
            continue
        picks = [items[i] for i in row[:k] if i >= 0]
        shown.update(int(i) for i in row[:k] if i >= 0)
        hits = len(set(picks) & truth)
        precision.append(hits / k)
        recall.append(hits / len(truth))
    return RankingMetrics(
        precision_at_k=float(np.mean(precision)) if precision else 0.0,
        recall_at_k=float(np.mean(recall)) if recall else 0.0,
        coverage=len(shown) / max(len(items), 1),
        users=len(precision),
    )


def evaluate_recommender(
    interactions: pd.DataFrame,
    catalog: pd.DataFrame,
    params: RecommenderParams | None = None,
    *,
    k: int = 10,
    test_share: float = 0.2,
    methods: Sequence[str] = ("hybrid", "item_item", "content", "als", "popularity"),
) -> dict[str, dict[str, float]]:
    """Per-user time split; precision@k, recall@k and coverage per method."""
    params = params or RecommenderParams()
    train, test = per_user_time_split(interactions, test_share)
    model = fit_recommender(
        train,
        catalog,
        params,
        users=test["user_id"].astype(str).unique(),
        with_als="als" in methods,
    )
    relevant = (
        test.groupby(test["user_id"].astype(str))["item_id"]
        .agg(lambda s: set(s.astype(str)))
        .to_dict()
    )
    users = list(relevant)
    results = {}
    for method in methods:
        recs = recommend(model, users, method=method, top_n=k)
        results[method] = ranking_metrics(recs, model.items, relevant, k).as_dict()
    base = results.get("popularity", {}).get("precision_at_10")
    if base:
        for metrics in results.values():
            metrics["lift_vs_popularity"] = round(metrics["precision_at_10"] / base - 1, 4)
    return results

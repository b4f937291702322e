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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import sparse
from threadpoolctl import threadpool_limits

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"purchase": 5.0, "add_to_cart": 3.0, "view": 1.0}
#: the event types the warehouse's interactions hold (pipeline.interactions_sql)
INTERACTION_EVENTS: tuple[str, ...] = tuple(DEFAULT_EVENT_WEIGHTS)


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


def interaction_matrices(
    user_rows: np.ndarray,
    item_rows: np.ndarray,
    weights: np.ndarray,
    is_purchase: np.ndarray,
    shape: tuple[int, int],
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(users x items log1p of the summed weights, users x items 1 where bought) from one
    entry per interaction (or per user, item and event type, already summed)."""
    summed = sparse.csr_matrix((np.asarray(weights, float), (user_rows, item_rows)), shape=shape)
    summed.sum_duplicates()
    summed.data = np.log1p(summed.data)
    bought = np.asarray(is_purchase, bool)
    purchased = sparse.csr_matrix(
        (np.ones(int(bought.sum())), (user_rows[bought], item_rows[bought])), shape=shape
    )
    purchased.sum_duplicates()
    purchased.data[:] = 1.0
    return summed, purchased


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
    is_purchase = (
        interactions["event_type"].eq("purchase").to_numpy()
        if "event_type" in interactions.columns
        else np.zeros(len(interactions), bool)
    )
    matrix, purchased = interaction_matrices(
        u, i, weights, is_purchase, (len(known_users), len(all_items))
    )
    learns_from = None
    if training_users is not None:
        learns_from = known_users.isin(pd.Index([str(t) for t in training_users]))
    return fit_from_matrices(
        matrix, purchased, known_users, all_items, catalog, params, learns_from, with_als=with_als
    )


def fit_from_matrices(
    matrix: sparse.csr_matrix,
    purchased: sparse.csr_matrix,
    users: pd.Index,
    items: pd.Index,
    catalog: pd.DataFrame,
    params: RecommenderParams,
    learns_from: np.ndarray | None = None,
    *,
    with_als: bool = False,
) -> Recommender:
    """The model from `interaction_matrices`' two matrices, whose rows are `users` and whose
    columns are `items` (every catalog item among them). `learns_from` (a bool per user)
    keeps the learning (similarities, popularity, ALS item factors) to those users' rows."""
    learning = matrix
    if learns_from is not None:
        learning = sparse.diags(np.asarray(learns_from, float)) @ matrix
    columns = _normalise_rows(learning.T.tocsr())  # items x users
    item_similarity = _top_k_per_row(columns @ columns.T, params.neighbours)
    catalog = catalog.assign(item_id=catalog["item_id"].astype(str))
    content = _content_vectors(catalog, items)
    content_similarity = (content @ content.T).toarray()
    np.fill_diagonal(content_similarity, 0.0)

    counts = np.asarray((learning > 0).sum(axis=0)).ravel().astype(float)
    popularity = counts / counts.max() if counts.max() > 0 else counts
    info = catalog.set_index("item_id").reindex(items)
    category = info["category"].fillna("unknown").to_numpy(object)
    names = (
        info["name"].fillna(pd.Series(items, index=items)).to_numpy(object)
        if "name" in info.columns
        else np.asarray(items, dtype=object)
    )
    consumable = np.isin(category, list(params.consumable_categories))
    user_factors = item_factors = None
    if with_als:
        # learnt from the consented rows; every user's factors then follow from their own row
        _, item_factors = fit_als(learning, params)
        user_factors = _als_user_factors(matrix, item_factors, params)
    return Recommender(
        users=users,
        items=items,
        item_category=category,
        item_name=names,
        matrix=matrix.tocsr(),
        purchased=purchased.tocsr(),
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


def _scale_rows(m: np.ndarray, *, nonnegative: bool = False) -> np.ndarray:
    """Each row over its maximum, negatives at 0. `nonnegative` rows (item-item and content
    scores: sums of non-negative weights times cosines of non-negative vectors) are scaled
    in place, skipping the clip and the copy."""
    top = m.max(axis=1, keepdims=True)
    top[top <= 0] = 1.0
    if nonnegative:
        m /= top
        return m
    return np.clip(m, 0, None) / top


SOURCES = ("item_item", "content", "popularity", "als")
POPULARITY = SOURCES.index("popularity")
METHODS = ("hybrid", "item_item", "content", "als", "popularity")


@dataclass
class Recommendations:
    """Top-N per user in rank order: item indices (-1 when fewer candidates), scores, and per
    pick its source (index into SOURCES) and anchor item (the user's item behind it, or -1).
    `rows` are the users' rows in the model (-1 for the shared list of a user without
    interactions)."""

    users: pd.Index
    items: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    anchor: np.ndarray
    rows: np.ndarray | None = None


def _score(
    model: Recommender,
    x: sparse.csr_matrix,
    bought: sparse.csr_matrix,
    factors: np.ndarray | None,
    method: str,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Scores (users x items) from the users' interaction rows `x`, with bought items that are
    not consumables at -inf; and the scaled cf and content parts (None when unused).

    Sparse rows times the item-item and content matrices: a user's cost is their own items
    times the catalog, not the catalog squared."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {list(METHODS)}")
    n = x.shape[0]
    cf_s = content_s = None
    if method in ("hybrid", "item_item"):
        cf_s = _scale_rows((x @ model.item_similarity).toarray(), nonnegative=True)
    if method in ("hybrid", "content"):
        content_s = _scale_rows(np.asarray(x @ model.content_similarity), nonnegative=True)
    w = model.params.cf_weight
    if method == "popularity":
        score = np.tile(model.popularity, (n, 1))
    elif method == "item_item":
        score = cf_s + 1e-6 * model.popularity
    elif method == "content":
        score = content_s + 1e-6 * model.popularity
    elif method == "als":
        if factors is None or model.item_factors is None:
            raise ValueError("method 'als' needs a model fitted with with_als=True")
        score = _scale_rows(factors @ model.item_factors.T) + 1e-6 * model.popularity
    else:
        score = np.multiply(cf_s, w)
        score += (1 - w) * content_s
        score += model.params.popularity_weight * model.popularity
    # bought items, unless consumable, are out: set their cells from the sparse rows
    rows, cols = bought.nonzero()
    keep = ~model.consumable[cols]
    score[rows[keep], cols[keep]] = -np.inf
    return score, cf_s, content_s


def score_users(
    model: Recommender,
    user_rows: np.ndarray,
    *,
    method: str = "hybrid",
    exclude: sparse.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Dense scores (len(user_rows) x items) by `method`, and the scaled cf and content parts."""
    factors = model.user_factors[user_rows] if model.user_factors is not None else None
    score, cf_s, content_s = _score(
        model, model.matrix[user_rows], model.purchased[user_rows], factors, method
    )
    if exclude is not None:
        rows, cols = exclude[user_rows].nonzero()
        score[rows, cols] = -np.inf
    return score, cf_s, content_s


def _top_k(score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, scores) of each row's k best, best first; ties go to the lower item index."""
    part = np.argpartition(-score, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(score, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def _segment_argmax(xs: sparse.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Per row of `xs` and column of `values` (one row per stored entry of `xs`), the column
    of `xs` whose entry has the largest value, the first stored on a tie; -1 for empty rows."""
    lengths = np.diff(xs.indptr)
    out = np.full((xs.shape[0], values.shape[1]), -1, dtype=np.int64)
    filled = lengths > 0
    if not filled.any():
        return out
    starts = xs.indptr[:-1][filled]
    best = np.maximum.reduceat(values, starts, axis=0)
    segment = np.repeat(np.arange(len(starts)), lengths[filled])
    position = np.where(values == best[segment], np.arange(len(values))[:, np.newaxis], len(values))
    out[filled] = xs.indices[np.minimum.reduceat(position, starts, axis=0)]
    return out


def _pick_reasons(
    model: Recommender,
    xs: sparse.csr_matrix,
    best: np.ndarray,
    valid: np.ndarray,
    cf_s: np.ndarray | None,
    content_s: np.ndarray | None,
    similarity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(source, anchor) per pick: the part that weighs more at the pick (cf, else content,
    else popularity), and the user's own item contributing most to it under that part."""
    n = len(best)
    picked = np.arange(n)[:, np.newaxis]
    zeros = np.zeros(best.shape)
    cf = cf_s[picked, best] if cf_s is not None else zeros
    content = content_s[picked, best] if content_s is not None else zeros
    use_cf = (cf >= content) & (cf > 0)
    use_content = ~use_cf & (content > 0)
    entry_row = np.repeat(np.arange(n), np.diff(xs.indptr))
    target = best[entry_row]  # per stored entry (a user's item), the user's picks
    weight = xs.data[:, np.newaxis]
    cf_anchor = _segment_argmax(xs, weight * similarity[xs.indices[:, np.newaxis], target])
    content_anchor = _segment_argmax(
        xs, weight * model.content_similarity[xs.indices[:, np.newaxis], target]
    )
    source = np.where(use_cf, 0, np.where(use_content, 1, POPULARITY))
    anchor = np.where(use_cf, cf_anchor, np.where(use_content, content_anchor, -1))
    return np.where(valid, source, POPULARITY).astype(np.int8), np.where(valid, anchor, -1)


def _recommend_matrix(
    model: Recommender,
    x: sparse.csr_matrix,
    bought: sparse.csr_matrix,
    factors: np.ndarray | None,
    method: str,
    top_n: int,
    similarity: np.ndarray,
    exclude: sparse.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(items, scores, source, anchor), each users x top_n, for the users of rows `x`."""
    score, cf_s, content_s = _score(model, x, bought, factors, method)
    if exclude is not None:
        rows, cols = exclude.nonzero()
        score[rows, cols] = -np.inf
    shape = (x.shape[0], top_n)
    items = np.full(shape, -1, dtype=np.int64)
    scores = np.zeros(shape)
    source = np.full(shape, POPULARITY, dtype=np.int8)
    anchor = np.full(shape, -1, dtype=np.int64)
    k = min(top_n, score.shape[1])
    if k == 0:
        return items, scores, source, anchor
    best, best_scores = _top_k(score, k)
    valid = np.isfinite(best_scores)
    items[:, :k] = np.where(valid, best, -1)
    scores[:, :k] = np.where(valid, best_scores, 0.0)
    if method == "als":
        source[:, :k] = np.where(valid, SOURCES.index("als"), POPULARITY)
    elif method != "popularity":
        source[:, :k], anchor[:, :k] = _pick_reasons(
            model, x, best, valid, cf_s, content_s, similarity
        )
    return items, scores, source, anchor


def recommend_rows(
    model: Recommender,
    rows: np.ndarray,
    *,
    method: str = "hybrid",
    top_n: int | None = None,
    exclude: sparse.csr_matrix | None = None,
) -> Iterator[Recommendations]:
    """Top-N for the users at model rows `rows`, one `Recommendations` per batch of
    `params.batch_size` users (users x items never lives in memory at once)."""
    top_n = top_n or model.params.top_n
    rows = np.asarray(rows, dtype=np.int64)
    similarity = model.item_similarity.toarray()
    for start in range(0, len(rows), model.params.batch_size):
        batch = rows[start : start + model.params.batch_size]
        factors = model.user_factors[batch] if model.user_factors is not None else None
        items, scores, source, anchor = _recommend_matrix(
            model,
            model.matrix[batch],
            model.purchased[batch],
            factors,
            method,
            top_n,
            similarity,
            exclude[batch] if exclude is not None else None,
        )
        yield Recommendations(model.users[batch], items, scores, source, anchor, batch)


def shared_recommendations(
    model: Recommender, *, method: str = "hybrid", top_n: int | None = None
) -> Recommendations:
    """The one list every user without interactions gets under `method` (what scoring them
    one by one would give each of them): compute it once, hand it out in SQL."""
    top_n = top_n or model.params.top_n
    empty = sparse.csr_matrix((1, len(model.items)))
    factors = np.zeros((1, model.item_factors.shape[1])) if model.item_factors is not None else None
    items, scores, source, anchor = _recommend_matrix(
        model, empty, empty, factors, method, top_n, model.content_similarity
    )
    return Recommendations(pd.Index([""]), items, scores, source, anchor, np.array([-1]))


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
    batches = list(recommend_rows(model, rows, method=method, top_n=top_n, exclude=exclude))
    if not batches:
        empty = np.zeros((0, top_n))
        return Recommendations(
            users, empty.astype(np.int64), empty, empty.astype(np.int8), empty.astype(np.int64)
        )
    return Recommendations(
        users,
        np.concatenate([b.items for b in batches]),
        np.concatenate([b.scores for b in batches]),
        np.concatenate([b.source for b in batches]),
        np.concatenate([b.anchor for b in batches]),
        rows,
    )


def picks_table(recs: Recommendations) -> pa.Table:
    """Long format with integer codes only, for the warehouse to name in SQL: user_row (the
    model row), rank, item_row, score, source (index into SOURCES), anchor_row (null when
    none); one row per valid pick. No Python strings per row, so a batch costs microseconds
    per pick and its memory is freed once written."""
    if recs.rows is None:
        raise ValueError("picks_table needs Recommendations with model rows")
    n_users, top_n = recs.items.shape
    valid = (recs.items >= 0).ravel()
    anchor = recs.anchor.ravel()[valid]
    return pa.table(
        {
            "user_row": pa.array(np.repeat(recs.rows, top_n)[valid].astype(np.int64)),
            "rank": pa.array(np.tile(np.arange(1, top_n + 1, dtype=np.int32), n_users)[valid]),
            "item_row": pa.array(recs.items.ravel()[valid].astype(np.int64)),
            "score": pa.array(recs.scores.ravel()[valid].astype(np.float64)),
            "source": pa.array(recs.source.ravel()[valid].astype(np.int8)),
            "anchor_row": pa.array(anchor.astype(np.int64), mask=anchor < 0),
        }
    )


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
                ALS_REASON,
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


ALS_REASON = "liked by customers with your taste"


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
    """Mean precision@k and recall@k over the users with relevant items, and the share of
    items shown to them; by array lookups (user, item pairs as one integer), not per user."""
    users = pd.Index(recommended.users)
    truth_users = [u for u, truth in relevant.items() if truth]
    row = users.get_indexer(truth_users)
    present = row >= 0
    if not present.any():
        return RankingMetrics(0.0, 0.0, 0.0, 0)
    n_items = max(len(items), 1)
    truth_size = np.array([len(relevant[u]) for u in truth_users])[present]
    pairs = [
        (r, item) for r, u in zip(row, truth_users, strict=True) if r >= 0 for item in relevant[u]
    ]
    truth_rows = np.array([r for r, _ in pairs], dtype=np.int64)
    truth_items = items.get_indexer([item for _, item in pairs])
    known = truth_items >= 0
    truth_keys = np.unique(truth_rows[known] * n_items + truth_items[known])
    picks = recommended.items[row[present], :k]
    shown = picks >= 0
    keys = row[present][:, np.newaxis] * n_items + picks
    hits = (np.isin(keys, truth_keys) & shown).sum(axis=1)
    return RankingMetrics(
        precision_at_k=float(np.mean(hits / k)),
        recall_at_k=float(np.mean(hits / truth_size)),
        coverage=len(np.unique(picks[shown])) / max(len(items), 1),
        users=int(present.sum()),
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
        pd.DataFrame(
            {"user_id": test["user_id"].astype(str), "item_id": test["item_id"].astype(str)}
        )
        .groupby("user_id")["item_id"]
        .agg(set)
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

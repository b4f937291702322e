"""Make clusters readable: a label from each centroid, decision-tree rules, a profile table.

A centroid is described by its z-scores against a reference population. Purchase
behaviour (spend, frequency, returns, discounts, recency) is compared with customers who
bought at least once, engagement and tenure with everyone; otherwise the many customers
who never bought would make every buying cluster look "high-value". The label rules are
fixed and ordered, so the same centroid always gets the same name. A shallow decision tree
fitted on business units (not z-scores) to predict the cluster gives rules a marketer can
paste into a brief ("frequency > 4.5 and discount_share > 0.31").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, export_text

from python_models.clustering.model import SegmentModel

PURCHASE_FEATURES: frozenset[str] = frozenset(
    {
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "top_category_share",
        "return_rate",
        "discount_share",
    }
)
ENGAGEMENT_FEATURES: tuple[str, ...] = ("events_90d", "sessions_90d", "email_clicks_90d")

# z-score thresholds of the label rules.
HIGH = 0.5
VERY_HIGH = 0.75
LOW = -0.5

FEATURE_WORDS: dict[str, tuple[str, str]] = {
    # feature: (word when high, word when low)
    "recency_days": ("long since last order", "bought recently"),
    "frequency": ("many orders", "few orders"),
    "monetary": ("high spend", "low spend"),
    "avg_order_value": ("large baskets", "small baskets"),
    "top_category_share": ("one-category loyal", "broad category mix"),
    "events_90d": ("many site events", "few site events"),
    "sessions_90d": ("many visits", "few visits"),
    "email_clicks_90d": ("email clickers", "ignores email"),
    "tenure_days": ("long-standing", "recently joined"),
    "return_rate": ("returns a lot", "rarely returns"),
    "discount_share": ("discount-heavy", "pays full price"),
}


def reference_stats(
    scaled: np.ndarray, is_buyer: np.ndarray, columns: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per column of the reference group each feature is judged against."""
    buyers = scaled[is_buyer] if is_buyer.any() else scaled
    mean = np.empty(len(columns))
    std = np.empty(len(columns))
    for j, column in enumerate(columns):
        group = buyers if column in PURCHASE_FEATURES else scaled
        mean[j] = group[:, j].mean()
        s = group[:, j].std()
        std[j] = s if s > 1e-12 else 1.0
    return mean, std


def label_from_centroid(z: Mapping[str, float], centroid: Mapping[str, float]) -> str:
    """Deterministic, ordered rules from a centroid's z-scores (and its orders and visits)."""
    engagement = float(np.mean([z[c] for c in ENGAGEMENT_FEATURES]))
    if centroid["frequency"] < 0.5:
        # Absolute, not relative: whether non-buyers still visit must not depend on how many
        # other non-buyers there are this month.
        visits = centroid["sessions_90d"] >= 1
        return "browsers, no purchase" if visits else "dormant, no purchase"
    value = (
        "high-value"
        if z["monetary"] >= HIGH
        else "low-value"
        if z["monetary"] <= LOW
        else ("mid-value")
    )
    frequency = (
        "frequent"
        if z["frequency"] >= HIGH
        else "occasional"
        if z["frequency"] <= LOW
        else ("regular")
    )
    if z["recency_days"] >= VERY_HIGH:
        return "lapsed big spenders" if z["monetary"] >= HIGH else f"lapsed {frequency} buyers"
    if z["monetary"] >= HIGH and z["frequency"] >= HIGH:
        return "high-value frequent"
    if z["discount_share"] >= VERY_HIGH:
        return f"discount-driven {frequency}"
    if z["return_rate"] >= VERY_HIGH:
        return f"serial returners, {value}"
    if z["tenure_days"] <= -VERY_HIGH:
        return f"new customers, {value}"
    if engagement >= VERY_HIGH:
        return f"engaged {value} {frequency}"
    return f"{value} {frequency}"


def unique_labels(raw: dict[int, str], zs: dict[int, dict[str, float]]) -> dict[int, str]:
    """Tell same-named clusters apart by what separates them, in words.

    For each group of clusters with one label, the features are taken in order of how far
    apart the group's centroids are on them; each cluster gets the word for its side of the
    group's mean ("long-standing" vs "recently joined"), feature after feature, until every
    label in the group differs. Only clusters with identical centroids fall back to an id.
    """
    labels = dict(raw)
    for label in set(raw.values()):
        same = sorted(cid for cid, lab in raw.items() if lab == label)
        if len(same) < 2:
            continue
        features = [c for c in FEATURE_WORDS if all(c in zs[cid] for cid in same)]
        spread = {c: max(zs[cid][c] for cid in same) - min(zs[cid][c] for cid in same)
                  for c in features}  # fmt: skip
        phrases: dict[int, list[str]] = {cid: [] for cid in same}
        for column in sorted(features, key=lambda c: (-spread[c], c)):
            if spread[column] < 1e-9:
                break
            mean = sum(zs[cid][column] for cid in same) / len(same)
            high, low = FEATURE_WORDS[column]
            for cid in same:
                phrases[cid].append(high if zs[cid][column] >= mean else low)
            if len({tuple(p) for p in phrases.values()}) == len(same):
                break
        for cid in same:
            labels[cid] = " · ".join([label, *phrases[cid]])
        if len({labels[c] for c in same}) < len(same):
            for cid in same:
                labels[cid] = f"{labels[cid]} · #{cid}"
    return labels


def describe_centroids(
    model: SegmentModel, train_scaled: np.ndarray, train_values: np.ndarray
) -> tuple[dict[int, str], dict[int, dict[str, float]]]:
    """Labels and z-scores per stable cluster id."""
    columns = model.feature_columns
    is_buyer = train_values[:, columns.index("frequency")] >= 1
    ref_mean, ref_std = reference_stats(train_scaled, is_buyer, columns)
    originals = model.scaler.inverse_transform(model.centroids_scaled)
    raw, zs = {}, {}
    for i, cid in enumerate(model.cluster_ids):
        z_row = (model.centroids_scaled[i] - ref_mean) / ref_std
        z = {c: round(float(v), 3) for c, v in zip(columns, z_row, strict=True)}
        centroid = {c: float(v) for c, v in zip(columns, originals[i], strict=True)}
        raw[int(cid)] = label_from_centroid(z, centroid)
        zs[int(cid)] = z
    return unique_labels(raw, zs), zs


def _format_condition(feature: str, op: str, threshold: float) -> str:
    return f"{feature} {op} {threshold:.4g}"


def tree_rules(
    values: np.ndarray,
    cluster_ids: np.ndarray,
    columns: tuple[str, ...],
    max_depth: int = 3,
    seed: int = 42,
    min_coverage: float = 0.01,
) -> tuple[dict[int, list[str]], str, float]:
    """Fit a depth-limited tree in business units; return rules per cluster, text, fidelity.

    Each rule is one root-to-leaf path whose majority class is the cluster, followed by how
    much of the cluster that leaf covers and how pure it is. A cluster that owns no leaf
    (more clusters than a shallow tree has leaves) gets an explicit note instead.
    """
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed, min_samples_leaf=20)
    tree.fit(values, cluster_ids)
    fidelity = float(tree.score(values, cluster_ids))
    text = export_text(tree, feature_names=list(columns), decimals=2)
    inner = tree.tree_
    classes = tree.classes_
    cluster_sizes = {int(c): int((cluster_ids == c).sum()) for c in classes}
    rules: dict[int, list[tuple[float, str]]] = {int(c): [] for c in classes}

    def walk(node: int, path: list[str]) -> None:
        if inner.children_left[node] == inner.children_right[node]:  # a leaf
            counts = inner.value[node][0] * inner.weighted_n_node_samples[node]
            winner = int(np.argmax(counts))
            cid = int(classes[winner])
            covered = float(counts[winner])
            purity = covered / float(counts.sum())
            coverage = covered / max(cluster_sizes[cid], 1)
            condition = " and ".join(path) if path else "all customers"
            rules[cid].append(
                (coverage, f"{condition} ({coverage:.0%} of cluster, {purity:.0%} pure)")
            )
            return
        feature = columns[inner.feature[node]]
        threshold = float(inner.threshold[node])
        walk(inner.children_left[node], [*path, _format_condition(feature, "<=", threshold)])
        walk(inner.children_right[node], [*path, _format_condition(feature, ">", threshold)])

    walk(0, [])
    # Leaves holding a sliver of a cluster are noise in a brief; keep the ones that matter.
    readable = {
        cid: [r for coverage, r in sorted(found, reverse=True) if coverage >= min_coverage]
        or [f"no leaf of its own in a depth-{max_depth} tree; see its centroid"]
        for cid, found in rules.items()
    }
    return readable, text, fidelity


def describe_model(
    model: SegmentModel,
    train_values: np.ndarray,
    train_ids: np.ndarray,
    tree_max_depth: int = 3,
    seed: int = 42,
) -> SegmentModel:
    """Fill a freshly fitted model's labels, rules and tree text (mutates and returns it)."""
    scaled = model.scaler.transform(train_values)
    labels, centroid_z = describe_centroids(model, scaled, train_values)
    rules, text, fidelity = tree_rules(
        train_values, train_ids, model.feature_columns, tree_max_depth, seed
    )
    for cid in (int(c) for c in model.cluster_ids):
        rules.setdefault(cid, ["no training customer fell in this cluster"])
    model.labels = labels
    model.rules = rules
    model.tree_text = text
    model.centroid_z = centroid_z
    model.metrics["tree_fidelity"] = round(fidelity, 4)
    return model


def cluster_profiles(
    model: SegmentModel, sizes: Mapping[int, int], profiled_at: datetime
) -> pd.DataFrame:
    """One row per cluster of `model`: size, share, label, centroid in business units, rules."""
    columns = model.feature_columns
    originals = model.scaler.inverse_transform(model.centroids_scaled)
    total = max(sum(sizes.values()), 1)
    rows = []
    for i, cid in enumerate(int(c) for c in model.cluster_ids):
        row: dict[str, object] = {
            "cluster_id": cid,
            "cluster_label": model.labels.get(cid, f"cluster {cid}"),
            "model_version": model.version,
            "algorithm": model.algorithm,
            "n_customers": int(sizes.get(cid, 0)),
            "share_of_customers": round(sizes.get(cid, 0) / total, 6),
        }
        for j, column in enumerate(columns):
            row[f"centroid_{column}"] = round(float(originals[i, j]), 4) + 0.0  # no -0.0
        row["centroid_z"] = model.centroid_z.get(cid, {})
        row["rules"] = model.rules.get(cid, [])
        row["profiled_at"] = profiled_at
        rows.append(row)
    return pd.DataFrame(rows).sort_values("cluster_id", ignore_index=True)

"""Synthetic customer features with known personas, for tests and the 1M-customer benchmark.

Each persona is a distribution over the feature columns in business units; the persona of
every generated customer is returned, so a test can check the clusters recover them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from python_models.clustering.features import FEATURE_COLUMNS

# persona: feature -> (median, spread); counts/amounts are log-normal, shares are clipped normal.
PERSONAS: dict[str, dict[str, tuple[float, float]]] = {
    "high-value frequent": {
        "recency_days": (12, 0.5),
        "frequency": (14, 0.3),
        "avg_order_value": (120, 0.25),
        "top_category_share": (0.45, 0.08),
        "events_90d": (90, 0.4),
        "sessions_90d": (20, 0.4),
        "email_clicks_90d": (6, 0.5),
        "tenure_days": (900, 0.3),
        "return_rate": (0.05, 0.03),
        "discount_share": (0.05, 0.03),
    },
    "discount-driven occasional": {
        "recency_days": (60, 0.5),
        "frequency": (3, 0.3),
        "avg_order_value": (40, 0.25),
        "top_category_share": (0.7, 0.1),
        "events_90d": (25, 0.5),
        "sessions_90d": (6, 0.4),
        "email_clicks_90d": (4, 0.5),
        "tenure_days": (500, 0.4),
        "return_rate": (0.1, 0.05),
        "discount_share": (0.45, 0.08),
    },
    "browsers, no purchase": {
        "recency_days": (np.nan, 0),
        "frequency": (0, 0),
        "avg_order_value": (0, 0),
        "top_category_share": (0, 0),
        "events_90d": (40, 0.5),
        "sessions_90d": (9, 0.4),
        "email_clicks_90d": (1, 0.6),
        "tenure_days": (120, 0.5),
        "return_rate": (0, 0),
        "discount_share": (0, 0),
    },
    "lapsed big spenders": {
        "recency_days": (400, 0.3),
        "frequency": (6, 0.3),
        "avg_order_value": (200, 0.25),
        "top_category_share": (0.5, 0.1),
        "events_90d": (1, 0.5),
        "sessions_90d": (0.5, 0.5),
        "email_clicks_90d": (0.2, 0.5),
        "tenure_days": (1500, 0.2),
        "return_rate": (0.05, 0.03),
        "discount_share": (0.08, 0.04),
    },
}
# Less separated groups, used by the benchmark to make the k search do real work.
OVERLAPPING_PERSONAS: dict[str, dict[str, tuple[float, float]]] = {
    "mid-value regular": {
        "recency_days": (45, 0.6),
        "frequency": (5, 0.4),
        "avg_order_value": (70, 0.35),
        "top_category_share": (0.55, 0.15),
        "events_90d": (30, 0.7),
        "sessions_90d": (7, 0.6),
        "email_clicks_90d": (2, 0.8),
        "tenure_days": (700, 0.5),
        "return_rate": (0.1, 0.08),
        "discount_share": (0.12, 0.08),
    },
    "new customers": {
        "recency_days": (10, 0.6),
        "frequency": (1.2, 0.2),
        "avg_order_value": (60, 0.4),
        "top_category_share": (0.9, 0.1),
        "events_90d": (25, 0.6),
        "sessions_90d": (5, 0.5),
        "email_clicks_90d": (1, 0.8),
        "tenure_days": (20, 0.5),
        "return_rate": (0.05, 0.08),
        "discount_share": (0.15, 0.1),
    },
}
SHARE_COLUMNS = {"top_category_share", "return_rate", "discount_share"}


def synthetic_customer_features(
    n_customers: int,
    seed: int = 0,
    weights: dict[str, float] | None = None,
    key_prefix: str = "c_",
    personas: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return (features frame with customer_key, persona name per row)."""
    personas = personas or PERSONAS
    rng = np.random.default_rng(seed)
    names = list(personas)
    p = np.array([(weights or {}).get(n, 1.0) for n in names], dtype=float)
    persona_idx = rng.choice(len(names), size=n_customers, p=p / p.sum())
    data = {c: np.zeros(n_customers) for c in FEATURE_COLUMNS}
    for i, name in enumerate(names):
        rows = np.flatnonzero(persona_idx == i)
        for column, (median, spread) in personas[name].items():
            if np.isnan(median):
                data[column][rows] = np.nan
            elif column in SHARE_COLUMNS:
                draw = rng.normal(median, spread, len(rows))
                data[column][rows] = np.clip(draw, 0.0, 1.0)
            else:
                data[column][rows] = median * np.exp(rng.normal(0.0, spread, len(rows)))
    frequency = np.round(data["frequency"])
    data["frequency"] = frequency
    data["monetary"] = frequency * data["avg_order_value"]
    frame = pd.DataFrame(data, columns=list(FEATURE_COLUMNS))
    frame.insert(0, "customer_key", [f"{key_prefix}{i:012x}" for i in range(n_customers)])
    return frame, np.array(names)[persona_idx]

"""Synthetic purchase histories with a known buy-till-you-die process, for tests and benches.

Each customer has their own purchase rate (gamma-distributed, as BG/NBD assumes) and drops
out after each purchase with their own probability (beta-distributed). Interactions (views,
carts, purchases of products with a category) follow the customer's two favourite
categories, so item-item and content-based recommenders have a signal to find. Seeded:
the same arguments give the same frames.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

CATEGORIES = ("books", "garden", "kitchen", "outdoor", "beauty", "toys", "electronics", "pets")


def generate_transactions(
    customers: int,
    *,
    as_of: datetime = datetime(2026, 11, 1),
    history_days: int = 3 * 365,
    seed: int = 7,
    mean_purchases_per_year: float = 4.0,
) -> pd.DataFrame:
    """customer_id, ordered_at, amount: one row per purchase before `as_of`."""
    rng = np.random.default_rng(seed)
    shape = 1.5
    rate_per_day = rng.gamma(shape, mean_purchases_per_year / 365 / shape, customers)
    dropout = rng.beta(1.0, 6.0, customers)
    start = rng.uniform(0, history_days * 0.8, customers)
    spend_level = rng.gamma(4.0, 15.0, customers)
    ids, times, amounts = [], [], []
    for i in range(customers):
        t = start[i]
        while t < history_days:
            ids.append(i)
            times.append(t)
            amounts.append(round(float(rng.gamma(6.0, spend_level[i] / 6.0)) + 1.0, 2))
            # BG/NBD's process: a customer may drop out after a repeat purchase, not the first
            if t > start[i] and rng.random() < dropout[i]:
                break
            t += rng.exponential(1.0 / rate_per_day[i])
    origin = as_of - timedelta(days=history_days)
    return pd.DataFrame(
        {
            "customer_id": [f"cust{i:06d}" for i in ids],
            "ordered_at": [origin + timedelta(days=float(t)) for t in times],
            "amount": amounts,
        }
    )


def generate_interactions(
    customers: int,
    products_per_category: int = 12,
    *,
    as_of: datetime = datetime(2026, 11, 1),
    seed: int = 11,
    events_per_customer: float = 25.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(interactions: user_id, item_id, event_type, occurred_at; catalog: item_id, category, tags).

    A customer mostly acts in two favourite categories and, within one, on a few "anchor"
    products that others with the same taste also like; the rest is noise across the catalog.
    """
    rng = np.random.default_rng(seed)
    n_cat = len(CATEGORIES)
    items = [f"p{c:02d}{k:03d}" for c in range(n_cat) for k in range(products_per_category)]
    catalog = pd.DataFrame(
        {
            "item_id": items,
            "category": [CATEGORIES[c] for c in range(n_cat) for _ in range(products_per_category)],
            "tags": [
                f"{CATEGORIES[c]}|{'premium' if k % 3 == 0 else 'basic'}"
                for c in range(n_cat)
                for k in range(products_per_category)
            ],
        }
    )
    popularity = rng.zipf(1.6, len(items)).astype(float)
    rows = []
    for u in range(customers):
        favourites = rng.choice(n_cat, 2, replace=False)
        # a taste within the favourite category: one of three product clusters
        taste = rng.integers(0, 3)
        n = max(3, int(rng.poisson(events_per_customer)))
        start = rng.uniform(0, 300)
        offsets = np.sort(rng.uniform(0, 60, n)) + start
        for k in range(n):
            if rng.random() < 0.8:
                c = favourites[0] if rng.random() < 0.65 else favourites[1]
                cluster = [j for j in range(products_per_category) if j % 3 == taste]
                item_index = c * products_per_category + int(rng.choice(cluster))
            else:
                item_index = int(rng.choice(len(items), p=popularity / popularity.sum()))
            kind = rng.choice(["view", "add_to_cart", "purchase"], p=[0.6, 0.25, 0.15])
            rows.append(
                (
                    f"user{u:05d}",
                    items[item_index],
                    kind,
                    as_of - timedelta(days=400) + timedelta(days=float(offsets[k])),
                )
            )
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "occurred_at"])
    return interactions, catalog

"""Next-best products: exclusions, the cold-start fallback, reasons, and beating popularity."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from python_models.predictions.recommendations import (
    InteractionsError,
    RecommenderParams,
    evaluate_recommender,
    fit_recommender,
    per_user_time_split,
    recommend,
    recommendations_frame,
)
from python_models.sample_data.transactions import generate_interactions

T0 = datetime(2026, 1, 1)
CATALOG = pd.DataFrame(
    {
        "item_id": ["tent", "stove", "mat", "coffee", "mug", "lamp"],
        "name": ["Tent", "Camp stove", "Sleeping mat", "Coffee beans", "Mug", "Head lamp"],
        "category": ["outdoor", "outdoor", "outdoor", "grocery", "kitchen", "outdoor"],
        "tags": ["camping", "camping|cooking", "camping", "drink", "drink|cooking", "camping"],
    }
)


def interactions(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(u, i, e, T0 + timedelta(hours=k)) for k, (u, i, e) in enumerate(rows)],
        columns=["user_id", "item_id", "event_type", "occurred_at"],
    )


@pytest.fixture
def shop() -> pd.DataFrame:
    # campers buy tent + stove together; coffee drinkers buy coffee + mug
    rows = []
    for k in range(6):
        rows += [(f"camper{k}", "tent", "purchase"), (f"camper{k}", "stove", "purchase")]
        rows += [(f"drinker{k}", "coffee", "purchase"), (f"drinker{k}", "mug", "view")]
    rows += [("me", "tent", "purchase"), ("me", "coffee", "purchase")]
    return interactions(rows)


def picks(model, user: str, **kwargs) -> pd.DataFrame:
    return recommendations_frame(model, recommend(model, [user], **kwargs))


def test_bought_items_are_excluded_but_consumables_come_back(shop) -> None:
    params = RecommenderParams(top_n=5, consumable_categories=("grocery",))
    model = fit_recommender(shop, CATALOG, params)
    mine = picks(model, "me")
    assert "tent" not in set(mine["item_id"])  # bought, and not a consumable
    assert "coffee" in set(mine["item_id"])  # bought, but one buys it again
    assert mine["rank"].tolist() == list(range(1, len(mine) + 1))


def test_reasons_name_the_item_a_pick_was_bought_with(shop) -> None:
    model = fit_recommender(shop, CATALOG, RecommenderParams(top_n=3))
    mine = picks(model, "me").set_index("item_id")
    assert mine.loc["stove", "reason"] == "bought with Tent"
    assert mine.loc["stove", "source"] == "item_item"
    assert mine.index[0] in {"stove", "mug"}


def test_a_new_customer_gets_popular_products_with_their_category(shop) -> None:
    model = fit_recommender(shop, CATALOG, RecommenderParams(top_n=3), users=["newcomer"])
    new = picks(model, "newcomer")
    assert len(new) == 3
    assert (new["source"] == "popularity").all()
    assert new["reason"].str.startswith("popular in ").all()
    assert new["item_id"].iloc[0] in {"tent", "stove", "coffee"}  # the most bought


def test_a_new_product_reaches_customers_through_its_catalog_tags(shop) -> None:
    """`lamp` has no interactions at all: only the content side can recommend it."""
    model = fit_recommender(shop, CATALOG, RecommenderParams(top_n=6, cf_weight=0.0))
    mine = picks(model, "me").set_index("item_id")
    assert "lamp" in mine.index and mine.loc["lamp", "reason"] == "similar to Tent"


def test_unknown_event_types_are_refused_with_their_names(shop) -> None:
    bad = shop.assign(event_type=["wishlist", *shop["event_type"].tolist()[1:]])
    with pytest.raises(InteractionsError, match=r"\['wishlist'\]"):
        fit_recommender(bad, CATALOG)


def test_the_split_holds_out_each_users_last_fifth() -> None:
    rows = [("u", f"i{k}", "view") for k in range(10)] + [("solo", "i0", "view")]
    train, test = per_user_time_split(interactions(rows))
    assert sorted(test["item_id"]) == ["i8", "i9"]  # the last 20 % of u's ten
    assert "solo" in set(train["user_id"]) and "solo" not in set(test["user_id"])


def test_on_generated_data_the_hybrid_beats_popularity_by_20_percent() -> None:
    events, catalog = generate_interactions(800, seed=4)
    results = evaluate_recommender(events, catalog)
    hybrid, popularity = results["hybrid"], results["popularity"]
    assert hybrid["precision_at_10"] >= 1.2 * popularity["precision_at_10"]
    assert hybrid["coverage"] > popularity["coverage"]
    # the ALS challenger is measured on the same split and also learns the tastes
    assert results["als"]["precision_at_10"] >= 1.2 * popularity["precision_at_10"]
    # the same seed gives the same numbers
    assert evaluate_recommender(events, catalog) == results

"""The recommendations asset's path: users and products numbered in SQL, customers with
interactions scored in batches, everyone else handed the shared list in SQL."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from python_models.predictions.pipeline import (
    RecommendationSettings,
    catalog_sql,
    interactions_sql,
    run_recommendations,
)
from python_models.predictions.recommendations import (
    RecommenderParams,
    fit_recommender,
    recommend,
    recommendations_frame,
)
from python_models.sample_data.prediction_tables import (
    CONSENT_TABLE,
    SOURCES,
    generate_prediction_tables,
)

AS_OF = datetime(2026, 11, 1)
# small batches, so the 300 customers take several
PARAMS = RecommenderParams(consumable_categories=("beauty",), batch_size=64)
NEWCOMERS = {"c_new_yes": True, "c_new_no": False}  # no interactions; personalisation consent


@pytest.fixture(scope="module")
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    generate_prediction_tables(con, 300)
    for key, personalised in NEWCOMERS.items():
        con.execute(
            f"insert into {SOURCES.customers} (source_system, source_record_id, customer_key) "
            "values ('crm', ?, ?)",
            [f"crm-{key}", key],
        )
        con.execute(f"insert into {CONSENT_TABLE} values (?, ?, true)", [key, personalised])
    run_recommendations(
        con,
        RecommendationSettings(
            sources=SOURCES, consent=CONSENT_TABLE, params=PARAMS, evaluation_users=100
        ),
        AS_OF,
    )
    return con


def rows_of(con: duckdb.DuckDBPyConnection, key: str) -> list[tuple]:
    return con.execute(
        "select rank, product_id, reason, source, is_personalized "
        "from models.customer_recommendations where customer_key = ? order by rank",
        [key],
    ).fetchall()


def test_customers_without_interactions_get_the_popular_list_named_by_category(warehouse):
    with_consent, without = rows_of(warehouse, "c_new_yes"), rows_of(warehouse, "c_new_no")
    assert [r[0] for r in with_consent] == list(range(1, 11))
    assert all(r[2].startswith("popular in ") and r[3] == "popularity" for r in with_consent)
    # the same products in the same order, personalised or not (nothing to personalise on)
    assert [r[1] for r in with_consent] == [r[1] for r in without]
    assert {r[4] for r in with_consent} == {True} and {r[4] for r in without} == {False}
    category = dict(
        warehouse.execute(f"select product_id, category from {SOURCES.products}").fetchall()
    )
    assert all(r[2] == f"popular in {category[r[1]]}" for r in with_consent)


def test_every_customer_gets_ten_and_the_rows_match_scoring_each_customer_alone(warehouse):
    per_customer = warehouse.execute(
        "select count(distinct customer_key), min(n), max(n) from (select customer_key, "
        "count(*) as n from models.customer_recommendations group by all)"
    ).fetchall()[0]
    assert per_customer == (302, 10, 10)
    counts = warehouse.sql(interactions_sql(SOURCES, AS_OF, per_event=False)).df()
    catalog = warehouse.sql(catalog_sql(SOURCES)).df()
    learners = warehouse.execute(
        f"select customer_key from {CONSENT_TABLE} where consent_analytics"
    ).df()["customer_key"]
    model = fit_recommender(counts, catalog, PARAMS, training_users=learners.tolist())
    consented = warehouse.execute(
        f"select customer_key from {CONSENT_TABLE} where consent_personalization "
        "and customer_key in (select customer_key from bench.order_lines) "
        "order by customer_key limit 20"
    ).df()["customer_key"]
    alone = recommendations_frame(model, recommend(model, consented.tolist()))
    written = warehouse.sql(
        "select customer_key as user_id, rank, product_id as item_id, product_name as item_name,"
        " score, reason, source from models.customer_recommendations "
        f"where customer_key in ({', '.join(repr(k) for k in consented)}) "
        "order by customer_key, rank"
    ).df()
    expected = alone.sort_values(["user_id", "rank"]).reset_index(drop=True)
    # the same scores rank by rank; products of equal score (ties to ~1e-16, the two paths
    # sum in different orders) may trade places, so compare the products per tied group
    assert written["score"].to_numpy() == pytest.approx(expected["score"].to_numpy(), abs=1e-9)

    def by_tie(frame):
        tied = frame.assign(score=frame["score"].round(9))
        return tied.groupby(["user_id", "score"])["item_id"].agg(frozenset).to_dict()

    assert by_tie(written) == by_tie(expected)
    reasons = ["user_id", "item_id", "item_name", "reason", "source"]
    assert written[reasons].sort_values(reasons).values.tolist() == (
        expected[reasons].sort_values(reasons).values.tolist()
    )
    assert {"bought with", "similar to"} & {r.rsplit(" ", 2)[0] for r in written["reason"]}


def test_customers_without_personalisation_consent_see_popular_products_they_lack(warehouse):
    key, bought = warehouse.execute(
        f"""
        select c.customer_key, list(distinct l.product_id)
        from {CONSENT_TABLE} as c join {SOURCES.order_lines} as l using (customer_key)
        join {SOURCES.products} as p using (product_id)
        where not c.consent_personalization and l.status = 'completed' and not l.is_return
          and p.category <> 'beauty' and l.ordered_at < ?
        group by all order by count(*) desc, c.customer_key limit 1
        """,
        [AS_OF],
    ).fetchall()[0]
    mine = rows_of(warehouse, key)
    assert len(mine) == 10 and {r[3] for r in mine} == {"popularity"}
    assert not {r[1] for r in mine} & set(bought)  # bought, not consumable: not offered again
    assert {r[4] for r in mine} == {False}

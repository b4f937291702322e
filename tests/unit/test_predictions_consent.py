"""Analytics consent: the models learn only from customers who gave it, and score everyone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from python_models.predictions.byod import BYOD_SOURCES, TransactionColumns, load_transactions
from python_models.predictions.churn import ChurnParams
from python_models.predictions.pipeline import ChurnSettings, ClvSettings, run_churn, run_clv
from python_models.predictions.recommendations import (
    RecommenderParams,
    fit_recommender,
    recommend,
    recommendations_frame,
)
from python_models.sample_data.transactions import generate_transactions
from tests.unit.test_predictions_recommendations import CATALOG, interactions

AS_OF = datetime(2026, 11, 1)
FAST = ChurnParams(
    cv_folds=2,
    logistic_c=(1.0,),
    hgb_learning_rate=(0.1,),
    hgb_max_leaf_nodes=(15,),
    hgb_max_iter=20,
)
CONSENT = "byod.consent_current"


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("consent") / "orders.csv"
    generate_transactions(400, seed=9).to_csv(path, index=False)
    return path


def warehouse(orders_csv: Path, consented: str) -> duckdb.DuckDBPyConnection:
    """The transactions, and analytics consent for the customers `consented` (a SQL predicate
    on customer_key) only."""
    con = duckdb.connect()
    load_transactions(con, orders_csv, TransactionColumns())
    con.execute(
        f"create table {CONSENT} as select distinct customer_key, ({consented}) "
        "as consent_analytics, true as consent_personalization from byod.identity_graph"
    )
    return con


def churn_and_clv(con: duckdb.DuckDBPyConnection, model_dir: Path) -> tuple[int, int, int, int]:
    """(churn training rows, churn customers scored, CLV fit rows, CLV customers scored)."""
    churn = run_churn(
        con,
        ChurnSettings(
            model_dir=model_dir, sources=BYOD_SOURCES, params=FAST, training_consent=CONSENT
        ),
        AS_OF,
        now=datetime(2026, 11, 2),
    )
    clv = run_clv(con, ClvSettings(sources=BYOD_SOURCES, training_consent=CONSENT), AS_OF)
    clv_fit = con.execute(
        "select n_train from models.model_runs where model = 'customer_clv'"
    ).fetchall()[0][0]
    assert churn.evaluation is not None
    return churn.evaluation.n_train_rows, churn.n_scored, clv_fit, clv.n_scored


def test_churn_and_clv_train_on_consented_customers_and_score_everyone(
    orders_csv, tmp_path
) -> None:
    even = "right(customer_key, 1) in ('0', '2', '4', '6', '8')"
    everyone = churn_and_clv(warehouse(orders_csv, "true"), tmp_path / "all")
    evens = churn_and_clv(warehouse(orders_csv, even), tmp_path / "even")
    odds = churn_and_clv(warehouse(orders_csv, f"not ({even})"), tmp_path / "odd")
    # each training set is exactly the consented part of the full one ...
    assert 0 < evens[0] < everyone[0] and evens[0] + odds[0] == everyone[0]
    assert 0 < evens[2] < everyone[2] and evens[2] + odds[2] == everyone[2]
    # ... while every buyer is still scored
    assert evens[1] == odds[1] == everyone[1] and evens[3] == odds[3] == everyone[3]


def test_recommendations_do_not_learn_from_customers_without_analytics_consent() -> None:
    # only "private" ever bought the tent with the lamp; nobody else links the two
    rows = [(f"camper{k}", "tent", "purchase") for k in range(3)]
    rows += [(f"camper{k}", "stove", "purchase") for k in range(3)]
    rows += [("private", "tent", "purchase"), ("private", "lamp", "purchase")]
    rows += [("me", "tent", "purchase")]
    events = interactions(rows)
    params = RecommenderParams(top_n=4)
    learners = sorted(set(events["user_id"]) - {"private"})

    def scores(model) -> dict[str, float]:
        mine = recommendations_frame(model, recommend(model, ["me"]))
        return dict(zip(mine["item_id"], mine["score"], strict=True))

    # learning from everyone, the lamp (bought with a tent once) outranks the equally
    # camping-tagged mat; without the one customer who linked them, only the tags speak
    everyone = scores(fit_recommender(events, CATALOG, params))
    assert everyone["lamp"] > everyone["mat"] + 0.1
    consented = fit_recommender(events, CATALOG, params, training_users=learners)
    assert scores(consented)["lamp"] == pytest.approx(scores(consented)["mat"])
    # the customer without consent is still recommended to, from their own history
    assert len(recommendations_frame(consented, recommend(consented, ["private"]))) > 0

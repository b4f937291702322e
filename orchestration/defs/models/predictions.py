"""Churn risk and lifetime value as Dagster assets: `models.customer_churn_scores`, `model_drift`,
`customer_clv`.

Thin shells around `python_models.predictions.pipeline`: the churn asset decides whether to
retrain (no model yet, the model older than `max_model_age_days`, or a feature's PSI over
the threshold), promotes a retrained model only when its test metrics are not worse than
the promoted one's, and scores every customer at `as_of`. The CLV asset refits BG/NBD +
Gamma-Gamma on every run and reports its holdout error. Checks read the written tables:
every customer has a score or a reason, and no probability is NaN or out of [0, 1].
"""

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.models import models_connection
from orchestration.settings import AS_OF_TAG, get_settings
from python_models.predictions.churn import ChurnParams
from python_models.predictions.pipeline import (
    ChurnSettings,
    ClvSettings,
    RecommendationSettings,
    run_churn,
    run_clv,
    run_recommendations,
)
from python_models.predictions.recommendations import RecommenderParams

# What the features read (python_models.predictions.features.FeatureSources): keyed facts in
# intermediate, a few staging tables, the identity graph; never a mart, so dim_customers can
# join the scores back without a cycle.
UPSTREAM = [
    dg.AssetKey(["intermediate", "int_orders_keyed"]),
    dg.AssetKey(["intermediate", "int_order_lines_keyed"]),
    dg.AssetKey(["intermediate", "int_events_keyed"]),
    dg.AssetKey(["intermediate", "int_person_records_keyed"]),
    dg.AssetKey(["intermediate", "int_customer_consent_current"]),
    dg.AssetKey(["staging", "stg_catalog__products"]),
    dg.AssetKey(["staging", "stg_support__tickets"]),
    dg.AssetKey(["staging", "stg_consent__events"]),
    dg.AssetKey(["identity", "identity_graph"]),
]
CHURN_KEY = dg.AssetKey(["models", "customer_churn_scores"])
DRIFT_KEY = dg.AssetKey(["models", "model_drift"])
CLV_KEY = dg.AssetKey(["models", "customer_clv"])
RECOMMENDATIONS_KEY = dg.AssetKey(["models", "customer_recommendations"])
KINDS = {"python", "scikit-learn", "duckdb"}


def run_as_of(context: dg.AssetExecutionContext) -> str:
    """The "now" of this run: its as_of tag, else the settings' as_of."""
    return context.run.tags.get(AS_OF_TAG) or get_settings().as_of


class ChurnConfig(dg.Config):
    """Run-time knobs; the defaults are the production settings."""

    force_retrain: bool = False
    model_dir: str | None = None  # default: <CUSTOMER360_MODEL_DIR>/churn (settings)
    horizon_days: int = 90
    train_cutoffs: int = 12
    cutoff_step_days: int = 30
    train_sample_size: int = 50_000
    train_row_budget: int = 250_000
    max_model_age_days: float = 30.0
    psi_threshold: float = 0.25
    medium_risk: float = 0.3
    high_risk: float = 0.6
    seed: int = 42

    def settings(self) -> ChurnSettings:
        return ChurnSettings(
            model_dir=Path(self.model_dir) if self.model_dir else get_settings().churn_model_dir,
            horizon_days=self.horizon_days,
            train_cutoffs=self.train_cutoffs,
            cutoff_step_days=self.cutoff_step_days,
            train_sample_size=self.train_sample_size,
            train_row_budget=self.train_row_budget,
            max_model_age_days=self.max_model_age_days,
            psi_threshold=self.psi_threshold,
            medium_risk=self.medium_risk,
            high_risk=self.high_risk,
            force_retrain=self.force_retrain,
            params=ChurnParams(seed=self.seed),
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CHURN_KEY,
            deps=UPSTREAM,
            group_name="models",
            kinds=KINDS,
            description="Each customer's churn probability (calibrated), risk band and top "
            "reasons, or why they are not scorable.",
        ),
        dg.AssetSpec(
            DRIFT_KEY,
            deps=UPSTREAM,
            group_name="models",
            kinds=KINDS,
            description="Population stability index per feature, training vs scoring, per run.",
        ),
    ],
    pool="duckdb",
)
def customer_churn_scores(
    context: dg.AssetExecutionContext, config: ChurnConfig, duckdb: DuckDBResource
) -> Iterator[dg.MaterializeResult]:
    """Score churn risk for every customer; retrain and promote when the policy says so."""
    with models_connection(duckdb) as con:
        result = run_churn(con, config.settings(), run_as_of(context), run_id=context.run_id)
    context.log.info("churn model %s: %s", result.version, result.reason)
    metadata: dict[str, object] = {
        "dagster/row_count": result.n_scored + result.n_not_scorable,
        "model_version": result.version,
        "retrained": result.retrained,
        "promoted": result.promoted,
        "decision": result.reason,
        "scored": result.n_scored,
        "not_scorable": result.n_not_scorable,
        "risk_bands": dg.MetadataValue.json(result.band_counts),
        "seconds": dg.MetadataValue.json(result.seconds),
    }
    if result.evaluation is not None:
        evaluation = result.evaluation
        chosen = evaluation.candidates[evaluation.chosen]
        metadata |= {
            "algorithm": evaluation.chosen,
            "test_roc_auc": chosen["roc_auc"],
            "test_pr_auc": chosen["pr_auc"],
            "test_brier": chosen["brier"],
            "test_top_decile_lift": chosen["top_decile_lift"],
            "bgnbd_roc_auc": evaluation.bgnbd["roc_auc"],
            "recency_only_roc_auc": evaluation.recency_only_roc_auc,
            "candidates": dg.MetadataValue.json(evaluation.candidates),
        }
    yield dg.MaterializeResult(asset_key=CHURN_KEY, metadata=metadata)
    drifted = result.drift.loc[result.drift["drifted"], "feature"].tolist()
    yield dg.MaterializeResult(
        asset_key=DRIFT_KEY,
        metadata={
            "dagster/row_count": len(result.drift),
            "max_psi": float(result.drift["psi"].max()) if len(result.drift) else 0.0,
            "drifted_features": json.dumps(drifted),
            "psi": dg.MetadataValue.md(
                result.drift[["feature", "psi", "drifted"]].round(4).to_markdown(index=False)
            ),
        },
    )


class ClvConfig(dg.Config):
    horizon_days: int = 365
    fit_sample_size: int = 200_000
    seed: int = 42


@dg.asset(
    key=CLV_KEY,
    deps=UPSTREAM,
    group_name="models",
    kinds=KINDS,
    pool="duckdb",
    description="BG/NBD + Gamma-Gamma: expected purchases and value over 12 months, P(alive).",
)
def customer_clv(
    context: dg.AssetExecutionContext, config: ClvConfig, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    settings = ClvSettings(
        horizon_days=config.horizon_days, fit_sample_size=config.fit_sample_size, seed=config.seed
    )
    with models_connection(duckdb) as con:
        result = run_clv(con, settings, run_as_of(context), run_id=context.run_id)
    holdout = result.holdout.as_dict()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.n_scored + result.n_not_scorable,
            "scored": result.n_scored,
            "not_scorable": result.n_not_scorable,
            "total_expected_value_12m": result.total_expected_value,
            "holdout_purchases_mae": holdout["purchases_mae"],
            "holdout_value_mae": holdout["value_mae"],
            "holdout_purchases_total_error": holdout["purchases_total_error"],
            "holdout_value_total_error": holdout["value_total_error"],
            "parameters": dg.MetadataValue.json(result.model.as_dict()),
            "seconds": dg.MetadataValue.json(result.seconds),
        }
    )


class RecommendationsConfig(dg.Config):
    top_n: int = 10
    neighbours: int = 50
    cf_weight: float = 0.7
    purchase_weight: float = 5.0
    add_to_cart_weight: float = 3.0
    view_weight: float = 1.0
    # bought again and again, so not excluded once bought
    consumable_categories: list[str] = ["beauty"]  # noqa: RUF012 (pydantic copies defaults)
    evaluation_users: int = 20_000

    def settings(self) -> RecommendationSettings:
        return RecommendationSettings(
            params=RecommenderParams(
                top_n=self.top_n,
                neighbours=self.neighbours,
                cf_weight=self.cf_weight,
                event_weights={
                    "purchase": self.purchase_weight,
                    "add_to_cart": self.add_to_cart_weight,
                    "view": self.view_weight,
                },
                consumable_categories=tuple(self.consumable_categories),
            ),
            evaluation_users=self.evaluation_users,
        )


@dg.asset(
    key=RECOMMENDATIONS_KEY,
    deps=UPSTREAM,
    group_name="models",
    kinds={"python", "scipy", "duckdb"},
    pool="duckdb",
    description="Top-N next-best products per customer with rank, score and a reason; "
    "popularity only for customers without personalisation consent.",
)
def customer_recommendations(
    context: dg.AssetExecutionContext, config: RecommendationsConfig, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    with models_connection(duckdb) as con:
        result = run_recommendations(
            con, config.settings(), run_as_of(context), run_id=context.run_id
        )
    hybrid = result.evaluation.get("hybrid", {})
    popularity = result.evaluation.get("popularity", {})
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.n_rows,
            "customers": result.n_customers,
            "personalized_customers": result.n_personalized,
            "precision_at_10": hybrid.get("precision_at_10", 0.0),
            "recall_at_10": hybrid.get("recall_at_10", 0.0),
            "coverage": hybrid.get("coverage", 0.0),
            "popularity_precision_at_10": popularity.get("precision_at_10", 0.0),
            "lift_vs_popularity": hybrid.get("lift_vs_popularity", 0.0),
            "by_method": dg.MetadataValue.json(result.evaluation),
            "reason_sources": dg.MetadataValue.json(result.sources),
            "seconds": dg.MetadataValue.json(result.seconds),
        }
    )


@dg.asset_check(asset=RECOMMENDATIONS_KEY, blocking=True, pool="duckdb")
def recommendations_respect_exclusions(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Ranks 1..N without gaps, no product twice per customer, every row has a reason."""
    with models_connection(duckdb) as con:
        duplicated, gaps, without_reason, customers = con.execute(
            """
            select
                (select count(*) - count(distinct (customer_key, product_id))
                 from models.customer_recommendations),
                (select count(*) from (
                    select customer_key, max(rank) as top, count(*) as n
                    from models.customer_recommendations group by customer_key
                 ) where top <> n),
                (select count(*) from models.customer_recommendations where reason is null),
                (select count(distinct customer_key) from models.customer_recommendations)
            """
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=duplicated == 0 and gaps == 0 and without_reason == 0,
        metadata={
            "duplicated_products": duplicated,
            "customers_with_rank_gaps": gaps,
            "rows_without_reason": without_reason,
            "customers": customers,
        },
    )


def _score_table_problems(con, table: str, probability: str) -> dict[str, int]:
    missing, nan, out_of_range = con.execute(
        f"""
        select
            (select count(*) from (select distinct customer_key from identity.identity_graph) g
             anti join {table} t using (customer_key)),
            (select count(*) from {table} where isnan({probability})),
            (select count(*) from {table} where {probability} < 0 or {probability} > 1)
        """
    ).fetchall()[0]
    return {
        "customers_without_row": missing,
        "nan_values": nan,
        "out_of_range": out_of_range,
    }


@dg.asset_check(asset=CHURN_KEY, blocking=True, pool="duckdb")
def every_customer_has_churn_score_or_reason(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every customer has a row; scorable ones a probability in [0, 1], others a reason."""
    with models_connection(duckdb) as con:
        problems = _score_table_problems(con, "models.customer_churn_scores", "churn_probability")
        problems["scorable_without_probability"] = con.execute(
            "select count(*) from models.customer_churn_scores "
            "where is_scorable and churn_probability is null"
        ).fetchall()[0][0]
        problems["without_reason"] = con.execute(
            "select count(*) from models.customer_churn_scores where top_reason is null"
        ).fetchall()[0][0]
    return dg.AssetCheckResult(passed=not any(problems.values()), metadata=problems)


@dg.asset_check(asset=CLV_KEY, blocking=True, pool="duckdb")
def every_customer_has_clv_or_reason(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every customer has a row; scorable ones finite, non-negative values and a P(alive)."""
    with models_connection(duckdb) as con:
        problems = _score_table_problems(con, "models.customer_clv", "p_alive")
        problems["scorable_with_missing_value"] = con.execute(
            "select count(*) from models.customer_clv where is_scorable and ("
            "expected_value_12m is null or isnan(expected_value_12m) or expected_value_12m < 0 "
            "or p_alive is null)"
        ).fetchall()[0][0]
        problems["not_scorable_without_reason"] = con.execute(
            "select count(*) from models.customer_clv "
            "where not is_scorable and not_scorable_reason is null"
        ).fetchall()[0][0]
    return dg.AssetCheckResult(passed=not any(problems.values()), metadata=problems)

"""Run churn and CLV against a warehouse connection: features in SQL, models in Python.

The I/O shell around the pure modules, shared by the Dagster assets, the benchmark and the
bring-your-own-data commands. Features for the training cutoffs are built for a seeded
sample of customers; scoring features at `as_of` are built for everyone, in one query.

Churn cutoffs (horizon N days, default 90): the test cutoff is `as_of - N` (its labels are
complete at `as_of`); training cutoffs step back from `test - N`, so no training label
window overlaps the test period. The chosen model (the better of the two families on
cross-validated ROC-AUC) is compared with the promoted one on the test cutoff; a worse one
is recorded in `models.model_runs` with `promoted = false`, and the scores stay.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import sparse

from python_models.model_runs import append_model_run
from python_models.predictions import clv
from python_models.predictions.churn import (
    GRADIENT_BOOSTING,
    LOGISTIC,
    ChurnModel,
    ChurnParams,
    explained_features,
    feature_matrix,
    fit_churn_model,
    risk_band,
)
from python_models.predictions.drift import DEFAULT_PSI_THRESHOLD, feature_drift
from python_models.predictions.evaluation import (
    PromotionDecision,
    classification_metrics,
    decide_promotion,
)
from python_models.predictions.features import (
    CHURN_FEATURES,
    FeatureSources,
    customers_sql,
    feature_sql,
    outcome_sql,
    summary_sql,
    timestamp_literal,
)
from python_models.predictions.recommendations import (
    ALS_REASON,
    INTERACTION_EVENTS,
    SOURCES,
    InteractionsError,
    Recommender,
    RecommenderParams,
    evaluate_recommender,
    fit_from_matrices,
    interaction_matrices,
    picks_table,
    recommend_rows,
    shared_recommendations,
)
from python_models.predictions.storage import load_promoted, new_version, save_candidate

CHURN_MODEL_NAME = "customer_churn"
#: per-customer consent (customer_key, consent_analytics, consent_personalization): the models
#: learn only from customers whose analytics consent is true, as clustering does; scoring
#: still covers everyone, and what uses the scores applies its own purpose rules.
CONSENT_TABLE = "intermediate.int_customer_consent_current"
CLV_MODEL_NAME = "customer_clv"
NOT_SCORABLE_NO_PURCHASE = "not scorable: no purchase before as_of"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def training_consent(con: duckdb.DuckDBPyConnection, table: str | None) -> str | None:
    """`table` when it holds `consent_analytics` (training then keeps consented customers only);
    None when there is no such table, as in a bring-your-own-data warehouse of transactions."""
    if table is None:
        return None
    schema, _, name = table.rpartition(".")
    found = con.execute(
        "select count(*) from information_schema.columns where table_schema = ? "
        "and table_name = ? and column_name = 'consent_analytics'",
        [schema or "main", name],
    ).fetchall()[0][0]
    return table if found else None


def parse_as_of(as_of: datetime | str) -> datetime:
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=None)
    return datetime.fromisoformat(str(as_of).replace("Z", "")).replace(tzinfo=None)


@dataclass(frozen=True)
class ChurnSettings:
    model_dir: Path
    sources: FeatureSources = field(default_factory=FeatureSources)
    horizon_days: int = 90
    # Twelve monthly training cutoffs: the same customer a month apart is a different case
    # (a fade, an upset, an overdue cycle), and more cases is what lifts the trees most.
    train_cutoffs: int = 12
    cutoff_step_days: int = 30
    train_sample_size: int = 50_000
    # (customer, cutoff) rows read for training and test at most: at scale the customer
    # sample shrinks as cutoffs are added, so the training cost stays put
    train_row_budget: int = 250_000
    training_consent: str | None = CONSENT_TABLE
    medium_risk: float = 0.3
    high_risk: float = 0.6
    psi_threshold: float = DEFAULT_PSI_THRESHOLD
    max_model_age_days: float = 30.0
    force_retrain: bool = False
    promotion_tolerance: float = 0.005
    params: ChurnParams = field(default_factory=ChurnParams)
    # scoring: customers per batch; the reasons measure the features that carry the top
    # reasons of this share of a seeded sample of this many buyers (None: every feature)
    score_batch_size: int = 100_000
    # OpenMP threads for scoring (trees). One, as for training: on the shared 2-core machine
    # two threads made the reasons 4.7x slower in wall time (30k buyers, load 18: 26.5 s
    # against 5.7 s), each tree's call waiting for the starved second thread
    score_threads: int = 1
    reason_coverage: float | None = 0.99
    reason_sample_size: int = 5_000


def training_customers(settings: ChurnSettings) -> int:
    """Customers sampled for the training and test cutoffs, within the row budget."""
    per_cutoff = settings.train_row_budget // (settings.train_cutoffs + 1)
    return max(1, min(settings.train_sample_size, per_cutoff))


def churn_cutoffs(
    as_of: datetime, horizon_days: int, n_train: int, step_days: int
) -> tuple[list[datetime], datetime]:
    """(training cutoffs, oldest first; the test cutoff)."""
    test = as_of - timedelta(days=horizon_days)
    newest_train = test - timedelta(days=horizon_days)
    train = [newest_train - timedelta(days=step_days * k) for k in range(n_train)]
    return sorted(train), test


def add_bgnbd_feature(frame: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Fit BG/NBD per cutoff on that cutoff's buyers; add their expected purchases and P(alive).

    The fit uses only the (pre-cutoff) summary of the same rows, so it leaks nothing.
    """
    out = frame.copy()
    out["bgnbd_expected_purchases"] = 0.0
    out["bgnbd_p_alive"] = 0.0
    for _cutoff, rows in out[out["has_purchase"]].groupby("cutoff"):
        x = rows["bg_frequency"].to_numpy(float)
        t_x = rows["bg_recency"].to_numpy(float)
        age = rows["bg_age"].to_numpy(float)
        if (x > 0).sum() < 2:
            continue
        params = clv.fit_bgnbd(x, t_x, age)
        out.loc[rows.index, "bgnbd_expected_purchases"] = clv.expected_purchases(
            params, x, t_x, age, horizon_days
        )
        out.loc[rows.index, "bgnbd_p_alive"] = clv.probability_alive(params, x, t_x, age)
    return out


def read_features(
    con: duckdb.DuckDBPyConnection,
    sources: FeatureSources,
    cutoffs: list[datetime],
    horizon_days: int,
    *,
    sample_size: int | None,
    seed: int,
    with_outcome: bool,
    consent_table: str | None = None,
) -> pd.DataFrame:
    sample = {"sample_size": sample_size, "seed": seed, "consent_table": consent_table}
    sql = feature_sql(sources, cutoffs, **sample)
    if with_outcome:
        outcome = outcome_sql(sources, cutoffs, horizon_days, **sample)
        sql = (
            f"select f.*, o.future_purchases, o.future_value, o.churned "
            f"from ({sql}) as f join ({outcome}) as o using (customer_key, cutoff)"
        )
    frame = con.sql(sql + " order by cutoff, customer_key").df()
    return add_bgnbd_feature(frame, horizon_days)


@dataclass
class ChurnEvaluation:
    """Everything measured on the test cutoff, for the run log and the closing report."""

    candidates: dict[str, dict[str, float]]
    bgnbd: dict[str, float]
    recency_only_roc_auc: float
    chosen: str
    n_train_rows: int
    n_test_rows: int


def train_and_evaluate(
    frame: pd.DataFrame,
    test_cutoff: datetime,
    params: ChurnParams,
    features: tuple[str, ...] = CHURN_FEATURES,
) -> tuple[ChurnModel, ChurnEvaluation, dict[str, ChurnModel]]:
    """Fit both families on the training cutoffs, score all three on the later test cutoff."""
    buyers = frame[frame["has_purchase"]]
    train = buyers[buyers["cutoff"] < pd.Timestamp(test_cutoff)]
    test = buyers[buyers["cutoff"] == pd.Timestamp(test_cutoff)]
    if train.empty or test.empty:
        raise ValueError("no buyers at the training or test cutoffs: is the history long enough?")
    y_train = train["churned"].to_numpy(int)
    y_test = test["churned"].to_numpy(int)
    groups = train["customer_key"].to_numpy()
    models = {
        name: fit_churn_model(name, train, y_train, groups, features, params)
        for name in (LOGISTIC, GRADIENT_BOOSTING)
    }
    candidates = {
        name: {
            **classification_metrics(y_test, model.predict_proba(test)),
            "cv_roc_auc": model.cv_roc_auc,
        }
        for name, model in models.items()
    }
    chosen = max(models, key=lambda name: models[name].cv_roc_auc)
    bgnbd = classification_metrics(
        y_test, -test["bgnbd_expected_purchases"].to_numpy(float), probabilities=False
    )
    # BG/NBD's P(no purchase in the horizon), by the Poisson approximation exp(-E[purchases])
    bgnbd["brier"] = classification_metrics(
        y_test, np.exp(-test["bgnbd_expected_purchases"].to_numpy(float))
    )["brier"]
    recency = classification_metrics(
        y_test, test["recency_days"].to_numpy(float), probabilities=False
    )["roc_auc"]
    evaluation = ChurnEvaluation(
        candidates=candidates,
        bgnbd=bgnbd,
        recency_only_roc_auc=recency,
        chosen=chosen,
        n_train_rows=len(train),
        n_test_rows=len(test),
    )
    return models[chosen], evaluation, models


@dataclass
class ChurnArtifact:
    """What is saved and promoted: the model, its test metrics and a training-feature sample."""

    model: ChurnModel
    version: str
    trained_at: datetime
    metrics: dict[str, float]
    training_sample: pd.DataFrame
    as_of: datetime


@dataclass
class ChurnRunResult:
    version: str
    retrained: bool
    promoted: bool
    reason: str
    evaluation: ChurnEvaluation | None
    n_scored: int
    n_not_scorable: int
    band_counts: dict[str, int]
    drift: pd.DataFrame
    seconds: dict[str, float]
    reasons: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def score_churn(
    artifact: ChurnArtifact, scoring: pd.DataFrame, settings: ChurnSettings
) -> tuple[pd.DataFrame, dict[str, float]]:
    """customer_churn_scores rows: every customer, scorable or with a reason why not; and how
    the reasons were computed (features explained, the sample's exact-match share).

    Buyers are scored in batches of `score_batch_size`. The reasons measure the features
    that carry nearly every customer's top reasons on a seeded sample (`explained_features`,
    `reason_coverage`), not all of them, unless `reason_coverage` is None."""
    buyers = scoring[scoring["has_purchase"]]
    out = scoring[["customer_key"]].copy()
    out["churn_probability"] = np.nan
    out["risk_band"] = "not_scorable"
    out["top_reasons"] = [[NOT_SCORABLE_NO_PURCHASE] for _ in range(len(out))]
    out["is_scorable"] = scoring["has_purchase"].to_numpy(bool)
    model = dataclasses.replace(artifact.model, n_threads=settings.score_threads)
    explained: list[int] | None = None
    info: dict[str, float] = {"features_explained": float(len(model.features))}
    if settings.reason_coverage is not None and len(buyers):
        sample = buyers.sample(
            n=min(len(buyers), settings.reason_sample_size), random_state=settings.params.seed
        )
        explained, reproduced = explained_features(
            model, feature_matrix(sample, model.features), coverage=settings.reason_coverage
        )
        info = {"features_explained": float(len(explained)), "sample_exact_share": reproduced}
    for start in range(0, len(buyers), settings.score_batch_size):
        batch = buyers.iloc[start : start + settings.score_batch_size]
        probability = model.predict_proba(batch)
        out.loc[batch.index, "churn_probability"] = probability
        out.loc[batch.index, "risk_band"] = risk_band(
            probability, settings.medium_risk, settings.high_risk
        )
        out.loc[batch.index, "top_reasons"] = pd.Series(
            model.reasons(batch, explained=explained), index=batch.index
        )
    out["model_version"] = artifact.version
    return out, info


def write_churn_scores(
    con: duckdb.DuckDBPyConnection, scores: pd.DataFrame, as_of: datetime, scored_at: datetime
) -> None:
    con.register("_churn_scores", scores)
    try:
        con.execute("create schema if not exists models")
        con.execute(
            """
            create or replace table models.customer_churn_scores as
            select
                customer_key::varchar as customer_key,
                churn_probability::double as churn_probability,
                risk_band::varchar as risk_band,
                top_reasons::varchar[] as top_reasons,
                top_reasons[1]::varchar as top_reason,
                is_scorable::boolean as is_scorable,
                model_version::varchar as model_version,
                $as_of::timestamp as scored_as_of,
                $scored_at::timestamp as scored_at
            from _churn_scores
            order by customer_key
            """,
            {"as_of": as_of, "scored_at": scored_at},
        )
    finally:
        con.unregister("_churn_scores")


def write_drift(
    con: duckdb.DuckDBPyConnection,
    drift: pd.DataFrame,
    model: str,
    version: str,
    as_of: datetime,
    run_id: str,
) -> None:
    """Append this run's PSI per feature to models.model_drift (history of every run)."""
    frame = drift.assign(model=model, model_version=version, scored_as_of=as_of, run_id=run_id)
    con.register("_drift", frame)
    try:
        con.execute("create schema if not exists models")
        con.execute(
            """
            create table if not exists models.model_drift (
                run_id varchar, model varchar, model_version varchar, scored_as_of timestamp,
                feature varchar, psi double, training_mean double, scoring_mean double,
                drifted boolean
            )
            """
        )
        con.execute(
            "insert into models.model_drift select run_id, model, model_version, scored_as_of, "
            "feature, psi, training_mean, scoring_mean, drifted from _drift"
        )
    finally:
        con.unregister("_drift")


def _needs_retrain(
    previous: ChurnArtifact | None,
    drift: pd.DataFrame | None,
    now: datetime,
    settings: ChurnSettings,
) -> tuple[bool, str]:
    if settings.force_retrain:
        return True, "forced"
    if previous is None:
        return True, "no promoted model yet"
    age = (now - previous.trained_at).total_seconds() / 86400
    if age > settings.max_model_age_days:
        return True, f"scheduled: model is {age:.0f} days old (> {settings.max_model_age_days:g})"
    if drift is not None and drift["drifted"].any():
        drifted = ", ".join(drift.loc[drift["drifted"], "feature"].tolist()[:5])
        return True, f"drift: PSI > {settings.psi_threshold:g} on {drifted}"
    return False, "model is recent and features are stable"


def _metrics_of(evaluation: ChurnEvaluation) -> dict[str, float]:
    chosen = evaluation.candidates[evaluation.chosen]
    return {k: chosen[k] for k in ("roc_auc", "pr_auc", "brier", "top_decile_lift")}


def run_churn(
    con: duckdb.DuckDBPyConnection,
    settings: ChurnSettings,
    as_of: datetime | str,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> ChurnRunResult:
    """Retrain when the policy says so, promote when not worse, score every customer at as_of."""
    as_of = parse_as_of(as_of)
    now = now or utc_now()
    run_id = run_id or uuid.uuid4().hex
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}  # process CPU (every thread, DuckDB's too)
    seed = settings.params.seed

    started, cpu = time.perf_counter(), time.process_time()
    scoring = read_features(
        con,
        settings.sources,
        [as_of],
        settings.horizon_days,
        sample_size=None,
        seed=seed,
        with_outcome=False,
    )
    seconds["score_features"] = time.perf_counter() - started
    cpu_seconds["score_features"] = time.process_time() - cpu
    scoring_buyers = scoring[scoring["has_purchase"]]

    previous: ChurnArtifact | None = load_promoted(settings.model_dir)
    drift_before = (
        feature_drift(
            previous.training_sample,
            scoring_buyers,
            previous.model.features,
            threshold=settings.psi_threshold,
        )
        if previous is not None
        else None
    )
    retrain, reason = _needs_retrain(previous, drift_before, now, settings)
    evaluation = None
    promoted = False
    artifact = previous
    if retrain:
        started, cpu = time.perf_counter(), time.process_time()
        train_cutoffs, test_cutoff = churn_cutoffs(
            as_of, settings.horizon_days, settings.train_cutoffs, settings.cutoff_step_days
        )
        frame = read_features(
            con,
            settings.sources,
            [*train_cutoffs, test_cutoff],
            settings.horizon_days,
            sample_size=training_customers(settings),
            seed=seed,
            with_outcome=True,
            consent_table=training_consent(con, settings.training_consent),
        )
        seconds["train_features"] = time.perf_counter() - started
        cpu_seconds["train_features"] = time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        model, evaluation, _ = train_and_evaluate(frame, test_cutoff, settings.params)
        seconds["train"] = time.perf_counter() - started
        cpu_seconds["train"] = time.process_time() - cpu
        metrics = _metrics_of(evaluation)
        decision: PromotionDecision = decide_promotion(
            metrics, previous.metrics if previous else None, tolerance=settings.promotion_tolerance
        )
        version = new_version(now, settings.model_dir)
        # drift reference: the latest population the model was checked on (the test cutoff),
        # the closest in time to the customers it will score
        reference_rows = frame[
            frame["has_purchase"] & (frame["cutoff"] == pd.Timestamp(test_cutoff))
        ]
        candidate = ChurnArtifact(
            model=model,
            version=version,
            trained_at=now,
            metrics=metrics,
            training_sample=reference_rows[list(model.features)].sample(
                n=min(len(reference_rows), 20_000), random_state=seed
            ),
            as_of=as_of,
        )
        save_candidate(
            candidate,
            {
                "version": version,
                "reason": reason,
                "decision": decision.reason,
                "metrics": metrics,
                "evaluation": evaluation.__dict__,
            },
            settings.model_dir,
            version,
            promote=decision.promote,
        )
        promoted = decision.promote
        reason = f"{reason}; {decision.reason}"
        append_model_run(
            con,
            {
                "run_id": run_id,
                "model": CHURN_MODEL_NAME,
                "version": version,
                "algorithm": model.algorithm,
                "n_train": evaluation.n_train_rows,
                "n_scored": len(scoring_buyers) if promoted else None,
                "trained_at": now,
                "data_window_start": train_cutoffs[0] - timedelta(days=365),
                "data_window_end": as_of,
                "parameters": json.dumps(
                    {
                        **settings.params.as_dict(),
                        "best": model.best_params,
                        "horizon_days": settings.horizon_days,
                        "train_cutoffs": [c.isoformat() for c in train_cutoffs],
                        "train_customers": training_customers(settings),
                        "test_cutoff": test_cutoff.isoformat(),
                    },
                    default=str,
                ),
                "features": json.dumps(list(model.features)),
                "metrics": json.dumps(
                    {
                        **metrics,
                        "candidates": evaluation.candidates,
                        "bgnbd_baseline": evaluation.bgnbd,
                        "recency_only_roc_auc": evaluation.recency_only_roc_auc,
                        "cv_by_params": model.cv_results,
                        "n_test": evaluation.n_test_rows,
                    },
                    default=str,
                ),
                "promoted": promoted,
                "promotion_reason": reason,
            },
        )
        if promoted:
            artifact = candidate
    if artifact is None:
        raise RuntimeError(f"no promoted churn model in {settings.model_dir} and none trained")

    drift = feature_drift(
        artifact.training_sample,
        scoring_buyers,
        artifact.model.features,
        threshold=settings.psi_threshold,
    )
    scores_written = False
    started, cpu = time.perf_counter(), time.process_time()
    if not retrain or promoted:
        scores, reasons_info = score_churn(artifact, scoring, settings)
        write_churn_scores(con, scores, as_of, now)
        scores_written = True
        band_counts = scores["risk_band"].value_counts().to_dict()
    else:
        band_counts, reasons_info = {}, {}
    seconds["score"] = time.perf_counter() - started
    cpu_seconds["score"] = time.process_time() - cpu
    write_drift(con, drift, CHURN_MODEL_NAME, artifact.version, as_of, run_id)
    return ChurnRunResult(
        version=artifact.version,
        retrained=retrain,
        promoted=promoted,
        reason=reason if scores_written else f"{reason}; previous scores kept",
        evaluation=evaluation,
        n_scored=len(scoring_buyers) if scores_written else 0,
        n_not_scorable=int((~scoring["has_purchase"]).sum()),
        band_counts={str(k): int(v) for k, v in band_counts.items()},
        drift=drift,
        seconds={k: round(v, 3) for k, v in seconds.items()},
        reasons=reasons_info,
        cpu_seconds={k: round(v, 3) for k, v in cpu_seconds.items()},
    )


# --------------------------------------------------------------------------------------
# Lifetime value
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClvSettings:
    sources: FeatureSources = field(default_factory=FeatureSources)
    horizon_days: int = 365
    fit_sample_size: int = 200_000
    training_consent: str | None = CONSENT_TABLE
    seed: int = 42


@dataclass
class ClvRunResult:
    model: clv.ClvModel
    holdout: clv.ClvError
    holdout_model: clv.ClvModel
    n_scored: int
    n_not_scorable: int
    total_expected_value: float
    seconds: dict[str, float]


def read_summary(
    con: duckdb.DuckDBPyConnection,
    sources: FeatureSources,
    cutoff: datetime,
    *,
    sample_size: int | None,
    seed: int,
    horizon_days: int | None = None,
    consent_table: str | None = None,
) -> pd.DataFrame:
    """BG/NBD summary of buyers at `cutoff`; with `horizon_days`, what each then did."""
    sample = {"sample_size": sample_size, "seed": seed, "consent_table": consent_table}
    sql = summary_sql(sources, [cutoff], **sample)
    if horizon_days is not None:
        outcome = outcome_sql(sources, [cutoff], horizon_days, **sample)
        sql = (
            f"select s.*, o.future_purchases, o.future_value from ({sql}) as s "
            f"join ({outcome}) as o using (customer_key, cutoff)"
        )
    frame = con.sql(sql + " order by customer_key").df()
    return frame.rename(
        columns={
            "bg_frequency": "frequency",
            "bg_recency": "recency",
            "bg_age": "T",
            "bg_monetary": "monetary_value",
        }
    )


def evaluate_clv_holdout(
    summary: pd.DataFrame, horizon_days: int
) -> tuple[clv.ClvModel, clv.ClvError]:
    """Fit at the calibration cutoff; compare the next `horizon_days` with what happened.

    Repeat purchases only: the summary's first purchase is the one BG/NBD conditions on, so a
    customer's actual count is their purchase days in the holdout window.
    """
    model = clv.fit_clv(summary)
    predicted = clv.predict_clv(model, summary, horizon_days)
    error = clv.clv_holdout_error(
        predicted["expected_purchases"].to_numpy(),
        summary["future_purchases"].to_numpy(float),
        predicted["expected_value"].to_numpy(),
        summary["future_value"].to_numpy(float),
    )
    return model, error


def run_clv(
    con: duckdb.DuckDBPyConnection,
    settings: ClvSettings,
    as_of: datetime | str,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> ClvRunResult:
    """Holdout evaluation a horizon back, then fit at as_of and write models.customer_clv."""
    as_of = parse_as_of(as_of)
    now = now or utc_now()
    run_id = run_id or uuid.uuid4().hex
    seconds: dict[str, float] = {}
    calibration_cutoff = as_of - timedelta(days=settings.horizon_days)
    consent = training_consent(con, settings.training_consent)

    started = time.perf_counter()
    holdout_summary = read_summary(
        con,
        settings.sources,
        calibration_cutoff,
        sample_size=settings.fit_sample_size,
        seed=settings.seed,
        horizon_days=settings.horizon_days,
        consent_table=consent,
    )
    holdout_model, holdout = evaluate_clv_holdout(holdout_summary, settings.horizon_days)
    seconds["holdout"] = time.perf_counter() - started

    started = time.perf_counter()
    summary = read_summary(con, settings.sources, as_of, sample_size=None, seed=settings.seed)
    seconds["summary"] = time.perf_counter() - started
    started = time.perf_counter()
    # the parameters are learnt from consented customers only; everyone is scored with them
    fit_rows = summary
    if consent is not None:
        allowed = con.sql(f"select customer_key from {consent} where consent_analytics").df()[
            "customer_key"
        ]
        fit_rows = summary[summary["customer_key"].isin(allowed)]
    if len(fit_rows) > settings.fit_sample_size:
        fit_rows = fit_rows.sample(n=settings.fit_sample_size, random_state=settings.seed)
    model = clv.fit_clv(fit_rows)
    predicted = clv.predict_clv(model, summary, settings.horizon_days)
    seconds["fit_and_predict"] = time.perf_counter() - started

    version = "v" + now.strftime("%Y%m%dT%H%M%SZ")
    scored = pd.concat([summary[["customer_key"]], predicted], axis=1)
    started = time.perf_counter()
    con.register("_clv", scored)
    try:
        con.execute("create schema if not exists models")
        con.execute(
            f"""
            create or replace table models.customer_clv as
            with customers as ({customers_sql(settings.sources, None, 0)})
            select
                customers.customer_key::varchar as customer_key,
                _clv.customer_key is not null as is_scorable,
                case when _clv.customer_key is null then $not_scorable end::varchar
                    as not_scorable_reason,
                _clv.expected_purchases::double as expected_purchases_12m,
                _clv.expected_order_value::double as expected_order_value,
                _clv.expected_value::double as expected_value_12m,
                _clv.p_alive::double as p_alive,
                $version::varchar as model_version,
                $as_of::timestamp as scored_as_of
            from customers
            left join _clv using (customer_key)
            order by customers.customer_key
            """,
            {"not_scorable": NOT_SCORABLE_NO_PURCHASE, "version": version, "as_of": as_of},
        )
        n_scored, n_not, total = con.execute(
            "select count(*) filter (where is_scorable), count(*) filter (where not is_scorable), "
            "coalesce(sum(expected_value_12m), 0) from models.customer_clv"
        ).fetchall()[0]
        append_model_run(
            con,
            {
                "run_id": run_id,
                "model": CLV_MODEL_NAME,
                "version": version,
                "algorithm": "bgnbd+gamma_gamma (scipy MLE)",
                "n_train": len(fit_rows),
                "n_scored": n_scored,
                "trained_at": now,
                "data_window_start": calibration_cutoff,
                "data_window_end": as_of,
                "parameters": json.dumps(
                    {**model.as_dict(), "horizon_days": settings.horizon_days}
                ),
                "features": json.dumps(["frequency", "recency", "T", "monetary_value"]),
                "metrics": json.dumps(
                    {"holdout": holdout.as_dict(), "holdout_model": holdout_model.as_dict()}
                ),
                "promoted": True,
                "promotion_reason": "probabilistic model refitted on every run",
            },
        )
    finally:
        con.unregister("_clv")
    seconds["write"] = time.perf_counter() - started
    return ClvRunResult(
        model=model,
        holdout=holdout,
        holdout_model=holdout_model,
        n_scored=int(n_scored),
        n_not_scorable=int(n_not),
        total_expected_value=float(total),
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


# --------------------------------------------------------------------------------------
# Next-best products
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecommendationSettings:
    sources: FeatureSources = field(default_factory=FeatureSources)
    consent: str = CONSENT_TABLE
    params: RecommenderParams = field(default_factory=RecommenderParams)
    evaluation_users: int = 20_000
    seed: int = 42


def interactions_sql(sources: FeatureSources, as_of: datetime, *, per_event: bool) -> str:
    """Purchases (order lines), add-to-carts and product views of keyed customers before as_of.

    `per_event` keeps one row per interaction (for the time split); otherwise rows are
    counted per customer, product and event type in SQL.
    """
    s = sources
    union = f"""
        select l.customer_key as user_id, l.product_id as item_id, 'purchase' as event_type,
               l.ordered_at as occurred_at
        from {s.order_lines} as l
        where l.customer_key is not null and l.product_id is not null
          and l.status = 'completed' and not coalesce(l.is_return, false)
          and l.ordered_at < {timestamp_literal(as_of)}
        union all
        select e.customer_key, e.product_id,
               case e.event_name when 'product_view' then 'view' else e.event_name end,
               e.occurred_at
        from {s.events} as e
        where e.customer_key is not null and e.product_id is not null
          and e.event_name in ('product_view', 'add_to_cart')
          and e.occurred_at < {timestamp_literal(as_of)}
    """
    if per_event:
        return union
    return (
        f"select user_id, item_id, event_type, count(*)::double as count "
        f"from ({union}) group by all"
    )


def catalog_sql(sources: FeatureSources) -> str:
    return (
        f"select product_id as item_id, coalesce(product_name, product_id) as name, "
        f"coalesce(category, 'unknown') as category, tags from {sources.products}"
    )


@dataclass
class RecommendationRunResult:
    version: str
    evaluation: dict[str, dict[str, float]]
    n_customers: int
    n_rows: int
    n_personalized: int
    sources: dict[str, int]
    seconds: dict[str, float]


def run_recommendations(
    con: duckdb.DuckDBPyConnection,
    settings: RecommendationSettings,
    as_of: datetime | str,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> RecommendationRunResult:
    """Evaluate on a per-user time split, fit on everything, write the top N per customer.

    Customers without personalisation consent get the non-personalised list (popularity)
    and `is_personalized = false`: their behaviour is not used to choose what they see.
    Users and products are numbered in SQL, so the model reads integer arrays; only
    customers with interactions are scored in Python, batch by batch, each batch's picks
    going to the warehouse as Arrow; customers without any get the one shared list, and
    products and reasons are named, in SQL.
    """
    as_of = parse_as_of(as_of)
    now = now or utc_now()
    run_id = run_id or uuid.uuid4().hex
    seconds: dict[str, float] = {}
    params = settings.params

    started = time.perf_counter()
    catalog = con.sql(catalog_sql(settings.sources)).df()
    learners = training_consent(con, settings.consent)
    con.execute(
        "create or replace temp table _rec_counts as "
        + interactions_sql(settings.sources, as_of, per_event=False)
    )
    # the offline evaluation learns from its users' histories: analytics-consented ones only
    consented_only = (
        f"where user_id in (select customer_key from {learners} where consent_analytics) "
        if learners
        else ""
    )
    sample_users = (
        f"select distinct user_id from _rec_counts {consented_only}"
        f"order by hash(user_id || ':{int(settings.seed)}'), user_id "
        f"limit {int(settings.evaluation_users)}"
    )
    events = con.sql(
        f"select * from ({interactions_sql(settings.sources, as_of, per_event=True)}) "
        f"where user_id in ({sample_users})"
    ).df()
    seconds["read_evaluation"] = time.perf_counter() - started
    started = time.perf_counter()
    evaluation = evaluate_recommender(events, catalog, params) if len(events) else {}
    seconds["evaluate"] = time.perf_counter() - started

    try:
        started = time.perf_counter()
        number_users_and_items(con, settings, learners)
        matrix, purchased, users = read_interaction_matrices(con, params.event_weights)
        items = pd.Index(
            con.sql("select item_id from _rec_items order by item_row").df()["item_id"]
        )
        n_interactions = matrix.nnz
        seconds["read"] = time.perf_counter() - started
        started = time.perf_counter()
        model = fit_from_matrices(
            matrix,
            purchased,
            pd.RangeIndex(len(users["user_row"])),
            items,
            catalog,
            params,
            learns_from=users["learns_from"],
        )
        del matrix, purchased
        seconds["fit"] = time.perf_counter() - started
        started = time.perf_counter()
        write_picks(con, model, users)
        seconds["score"] = time.perf_counter() - started

        version = "v" + now.strftime("%Y%m%dT%H%M%SZ")
        started = time.perf_counter()
        con.execute("create schema if not exists models")
        con.execute(
            f"""
            create or replace table models.customer_recommendations as
            with picks as (
                select user_row, rank, item_row, score, source, anchor_row from _rec_picks
                union all
                select users.user_row, shared.rank, shared.item_row, shared.score,
                       shared.source, null as anchor_row
                from _rec_users as users
                join _rec_shared as shared using (personalised)
                where users.is_customer and not users.has_history
            )
            select
                users.user_id::varchar as customer_key,
                picks.rank::integer as rank,
                items.item_id::varchar as product_id,
                items.name::varchar as product_name,
                picks.score::double as score,
                (case picks.source
                    when {SOURCES.index("item_item")} then 'bought with ' || anchors.name
                    when {SOURCES.index("content")} then 'similar to ' || anchors.name
                    when {SOURCES.index("als")} then $als_reason
                    else 'popular in ' || items.category
                end)::varchar as reason,
                ($sources)[picks.source + 1]::varchar as source,
                users.personalised::boolean as is_personalized,
                $version::varchar as model_version,
                $as_of::timestamp as generated_as_of
            from picks
            join _rec_users as users using (user_row)
            join _rec_items as items on items.item_row = picks.item_row
            left join _rec_items as anchors on anchors.item_row = picks.anchor_row
            order by customer_key, rank
            """,
            {
                "version": version,
                "as_of": as_of,
                "als_reason": ALS_REASON,
                "sources": list(SOURCES),
            },
        )
        n_rows, n_customers, n_personalized = con.execute(
            """
            select
                (select count(*) from models.customer_recommendations),
                count(*), count(*) filter (where personalised)
            from _rec_users where is_customer
            """
        ).fetchall()[0]
        by_source = dict(
            con.execute(
                "select source, count(*) from models.customer_recommendations group by source"
            ).fetchall()
        )
        hybrid = evaluation.get("hybrid", {})
        append_model_run(
            con,
            {
                "run_id": run_id,
                "model": "customer_recommendations",
                "version": version,
                "algorithm": "item-item cosine + content (category, tags) hybrid",
                "n_train": n_interactions,
                "n_scored": n_customers,
                "trained_at": now,
                "data_window_end": as_of,
                "parameters": json.dumps(params.as_dict()),
                "features": json.dumps(["purchase", "add_to_cart", "view", "category", "tags"]),
                "metrics": json.dumps(
                    {**hybrid, "by_method": evaluation, "evaluated_users": hybrid.get("users", 0)}
                ),
                "promoted": True,
                "promotion_reason": "refitted on every run",
            },
        )
        seconds["write"] = time.perf_counter() - started
    finally:
        for table in ("_rec_counts", "_rec_users", "_rec_items", "_rec_picks", "_rec_shared"):
            con.execute(f"drop table if exists {table}")
    return RecommendationRunResult(
        version=version,
        evaluation=evaluation,
        n_customers=int(n_customers),
        n_rows=int(n_rows),
        n_personalized=int(n_personalized),
        sources={str(k): int(v) for k, v in by_source.items()},
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


def number_users_and_items(
    con: duckdb.DuckDBPyConnection, settings: RecommendationSettings, learners: str | None
) -> None:
    """Temp tables `_rec_users` (user_row, user_id, is_customer, personalised, learns_from,
    has_history) and `_rec_items` (item_row, item_id, name, category): the model's row and
    column numbers. Users are every customer plus anyone else with interactions (they teach
    the model, nobody writes their recommendations); items the catalog, then products only
    the interactions name."""
    analytics = "coalesce(p.consent_analytics, false)" if learners else "true"
    con.execute(
        f"""
        create or replace temp table _rec_users as
        with customers as ({customers_sql(settings.sources, None, 0)}),
        interacting as (select distinct user_id from _rec_counts),
        everyone as (
            select customer_key as user_id, true as is_customer from customers
            union all
            select user_id, false from interacting
            anti join customers on customers.customer_key = interacting.user_id
        )
        select
            (row_number() over (order by everyone.user_id) - 1)::bigint as user_row,
            everyone.user_id,
            everyone.is_customer,
            coalesce(p.consent_personalization, false) as personalised,
            {analytics} as learns_from,
            everyone.user_id in (select user_id from interacting) as has_history
        from everyone
        left join {settings.consent} as p on p.customer_key = everyone.user_id
        """
    )
    con.execute(
        f"""
        create or replace temp table _rec_items as
        with catalog as (
            select item_id, any_value(name) as name, any_value(category) as category
            from ({catalog_sql(settings.sources)}) group by item_id
        ),
        extra as (select distinct item_id from _rec_counts anti join catalog using (item_id))
        select
            (row_number() over (order by in_catalog desc, item_id) - 1)::bigint as item_row,
            item_id, name, category
        from (
            select item_id, name, category, true as in_catalog from catalog
            union all
            select item_id, item_id, 'unknown', false from extra
        )
        """
    )


def read_interaction_matrices(
    con: duckdb.DuckDBPyConnection, event_weights: Mapping[str, float]
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, dict[str, np.ndarray]]:
    """(users x items log1p weights, users x items bought, per-user arrays by user_row) from
    `_rec_counts`, weighted and summed per user and product in SQL and read as Arrow."""
    missing = sorted(set(INTERACTION_EVENTS) - set(event_weights))
    if missing:
        raise InteractionsError(
            f"event types without a weight: {missing}; known: {sorted(event_weights)}"
        )
    weight = " ".join(
        f"when '{event}' then {float(event_weights[event])!r}" for event in INTERACTION_EVENTS
    )
    cells = con.sql(
        f"""
        select users.user_row, items.item_row,
               sum(counts.count * case counts.event_type {weight} end) as weight,
               bool_or(counts.event_type = 'purchase') as purchased
        from _rec_counts as counts
        join _rec_users as users using (user_id)
        join _rec_items as items using (item_id)
        group by all
        """
    ).to_arrow_table()
    user_table = con.sql(
        "select is_customer, personalised, learns_from, has_history from _rec_users "
        "order by user_row"
    ).to_arrow_table()
    users = {name: user_table.column(name).to_numpy() for name in user_table.column_names}
    users["user_row"] = np.arange(user_table.num_rows)
    n_items = con.execute("select count(*) from _rec_items").fetchall()[0][0]
    matrix, purchased = interaction_matrices(
        cells.column("user_row").to_numpy(),
        cells.column("item_row").to_numpy(),
        cells.column("weight").to_numpy(),
        cells.column("purchased").to_numpy(),
        (user_table.num_rows, int(n_items)),
    )
    return matrix, purchased, users


def write_picks(
    con: duckdb.DuckDBPyConnection, model: Recommender, users: dict[str, np.ndarray]
) -> None:
    """Temp tables `_rec_picks` (every scored customer's top N, written batch by batch) and
    `_rec_shared` (the list for customers without interactions, per personalisation)."""
    con.execute(
        "create or replace temp table _rec_picks (user_row bigint, rank integer, "
        "item_row bigint, score double, source tinyint, anchor_row bigint)"
    )
    con.execute(
        "create or replace temp table _rec_shared (personalised boolean, rank integer, "
        "item_row bigint, score double, source tinyint)"
    )
    for personalised, method in ((True, "hybrid"), (False, "popularity")):
        chosen = users["is_customer"] & users["has_history"]
        chosen &= users["personalised"] == personalised
        for batch in recommend_rows(model, np.flatnonzero(chosen), method=method):
            _insert_arrow(con, "_rec_picks", picks_table(batch))
        shared = picks_table(shared_recommendations(model, method=method))
        _insert_arrow(
            con,
            "_rec_shared",
            shared.drop_columns(["user_row", "anchor_row"]).add_column(
                0, "personalised", pa.array([personalised] * shared.num_rows)
            ),
        )


def _insert_arrow(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    con.register("_arrow_rows", rows)
    try:
        con.execute(f"insert into {table} by name select * from _arrow_rows")
    finally:
        con.unregister("_arrow_rows")

"""Holdout experiments: who is in which group, what happened after the export, the verdict.

Assignment is a pure function of the customer key and the experiment's salt
(`assignment_bucket`, twin of the SQL in `members.assignment_bucket_sql`): a customer is in
control when the bucket is below `control_share`. So a customer keeps their group in every
run, and when they leave the segment and come back. `exports.experiment_assignments` records
the first time each customer was assigned (that is when their outcome window starts).

Results (`measure_experiment`) read `marts.fct_orders`: per assigned customer, whether they
bought (conversion) and what they spent net (revenue) in the `window_days` after their
assignment, and the same in the `pre_period_days` before it (the CUPED covariate). Only
customers whose window has closed by `as_of` count.

Peeking guard: a fixed analysis date, declared with the experiment. Before it, results
say `waiting` and carry group sizes only: no rates, no interval, no p-value. From the
analysis date on, the verdict is `final`, and stays the same on later runs because every
customer's window is fixed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from python_models.activation.audiences import Audience, Holdout
from python_models.activation.members import sql_literal
from python_models.activation.statistics import (
    Comparison,
    cuped_test,
    two_proportion_test,
    welch_test,
)

RESULT_COLUMNS = [
    "experiment",
    "audience",
    "outcome",
    "is_primary_outcome",
    "method",
    "arm",
    "size",
    "value",
    "absolute_uplift",
    "relative_uplift",
    "ci_low",
    "ci_high",
    "p_value",
    "confidence",
    "variance_reduction",
    "cuped_theta",
    "status",
    "analysis_date",
    "window_days",
    "pre_period_days",
    "as_of",
    "computed_at",
]


def assignment_bucket(salt: str, customer_key: str) -> float:
    """A number in [0, 1): the first 32 bits of MD5(`salt:customer_key`)."""
    digest = hashlib.md5(f"{salt}:{customer_key}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def assign_arm(salt: str, customer_key: str, control_share: float) -> str:
    return "control" if assignment_bucket(salt, customer_key) < control_share else "treatment"


@dataclass(frozen=True)
class ExperimentOutcomes:
    """One row per assigned customer whose window has closed."""

    frame: pd.DataFrame  # customer_key, arm, converted, revenue, pre_converted, pre_revenue
    assigned: int  # all assigned customers, windows open or closed
    status: str  # waiting | final


def outcomes_sql(holdout: Holdout, schema: str, orders_table: str) -> str:
    window = f"interval {int(holdout.window_days)} day"
    pre = f"interval {int(holdout.pre_period_days)} day"
    return f"""
        with assigned as (
            select customer_key, arm, assigned_at
            from {schema}.experiment_assignments
            where experiment = {sql_literal(holdout.experiment)}
        ),
        purchases as (
            select customer_key, ordered_at, net_amount_reporting
            from {orders_table}
            where status = 'completed' and not is_return and customer_key is not null
        )
        select
            assigned.customer_key,
            assigned.arm,
            assigned.assigned_at,
            count(purchases.ordered_at) filter (where purchases.ordered_at > assigned.assigned_at
                and purchases.ordered_at <= assigned.assigned_at + {window}) > 0 as converted,
            coalesce(sum(purchases.net_amount_reporting) filter (
                where purchases.ordered_at > assigned.assigned_at
                and purchases.ordered_at <= assigned.assigned_at + {window}), 0)::double
                as revenue,
            count(purchases.ordered_at) filter (
                where purchases.ordered_at <= assigned.assigned_at
                and purchases.ordered_at > assigned.assigned_at - {pre}) > 0 as pre_converted,
            coalesce(sum(purchases.net_amount_reporting) filter (
                where purchases.ordered_at <= assigned.assigned_at
                and purchases.ordered_at > assigned.assigned_at - {pre}), 0)::double
                as pre_revenue
        from assigned
        left join purchases on purchases.customer_key = assigned.customer_key
        where assigned.assigned_at + {window} <= ?
        group by all
    """


def load_outcomes(
    con: duckdb.DuckDBPyConnection,
    holdout: Holdout,
    as_of: datetime,
    schema: str = "exports",
    orders_table: str = "marts.fct_orders",
) -> ExperimentOutcomes:
    naive = as_of.astimezone(UTC).replace(tzinfo=None)
    frame = con.execute(outcomes_sql(holdout, schema, orders_table), [naive]).df()
    assigned = con.execute(
        f"select count(*) from {schema}.experiment_assignments where experiment = ?",
        [holdout.experiment],
    ).fetchone()[0]
    ready = naive.date() >= holdout.analysis_date and frame["arm"].nunique() == 2
    return ExperimentOutcomes(frame, int(assigned), "final" if ready else "waiting")


def _rows_for(
    comparison: Comparison | None,
    sizes: dict[str, int],
    base: dict[str, object],
    method: str,
    variance_reduction: float | None = None,
    theta: float | None = None,
) -> list[dict[str, object]]:
    rows = []
    for arm in ("control", "treatment"):
        row = dict(base, method=method, arm=arm, size=sizes.get(arm, 0))
        if comparison is not None:
            row.update(
                value=comparison.control_value if arm == "control" else comparison.treatment_value,
                absolute_uplift=comparison.absolute_uplift,
                relative_uplift=comparison.relative_uplift,
                ci_low=comparison.ci_low,
                ci_high=comparison.ci_high,
                p_value=comparison.p_value,
                confidence=comparison.confidence,
                variance_reduction=variance_reduction,
                cuped_theta=theta,
            )
        rows.append(row)
    return rows


def experiment_results(
    audience: Audience,
    outcomes: ExperimentOutcomes,
    as_of: datetime,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """`experiment_results` rows: per outcome and method, one row per group."""
    holdout = audience.holdout
    if holdout is None:
        raise ValueError(f"audience {audience.name!r} has no holdout")
    frame = outcomes.frame
    sizes = frame.groupby("arm").size().to_dict()
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    rows: list[dict[str, object]] = []
    control = frame[frame["arm"] == "control"]
    treatment = frame[frame["arm"] == "treatment"]
    for outcome in ("conversion", "revenue"):
        base = {
            "experiment": holdout.experiment,
            "audience": audience.name,
            "outcome": outcome,
            "is_primary_outcome": outcome == holdout.outcome,
            "status": outcomes.status,
            "analysis_date": holdout.analysis_date,
            "window_days": holdout.window_days,
            "pre_period_days": holdout.pre_period_days,
            "as_of": as_of.astimezone(UTC).replace(tzinfo=None),
            "computed_at": computed_at,
        }
        y, x = (
            ("converted", "pre_converted")
            if outcome == "conversion"
            else ("revenue", "pre_revenue")
        )
        raw_method = "two_proportion_z" if outcome == "conversion" else "welch_t"
        if outcomes.status != "final" or min(len(control), len(treatment)) < 2:
            rows += _rows_for(None, sizes, base, raw_method)
            rows += _rows_for(None, sizes, base, "cuped_welch_t")
            continue
        if outcome == "conversion":
            raw = two_proportion_test(
                int(control[y].sum()),
                len(control),
                int(treatment[y].sum()),
                len(treatment),
                confidence,
            )
        else:
            raw = welch_test(control[y].to_numpy(float), treatment[y].to_numpy(float), confidence)
        cuped = cuped_test(
            control[y].to_numpy(float),
            control[x].to_numpy(float),
            treatment[y].to_numpy(float),
            treatment[x].to_numpy(float),
            confidence,
        )
        rows += _rows_for(raw, sizes, base, raw_method)
        rows += _rows_for(
            cuped.comparison, sizes, base, "cuped_welch_t", cuped.variance_reduction, cuped.theta
        )
    return pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS)


def daily_conversion_sql(holdout: Holdout, schema: str, orders_table: str) -> str:
    """Cumulative conversion rate per group by day since assignment (for the report)."""
    return f"""
        with outcomes as ({outcomes_sql(holdout, schema, orders_table)}),
        first_purchase as (
            select assigned.customer_key, assigned.arm,
                min(date_diff('day', assigned.assigned_at, o.ordered_at)) as day
            from {schema}.experiment_assignments as assigned
            join {orders_table} as o on o.customer_key = assigned.customer_key
                and o.status = 'completed' and not o.is_return
                and o.ordered_at > assigned.assigned_at
                and o.ordered_at <= assigned.assigned_at + interval {int(holdout.window_days)} day
            where assigned.experiment = {sql_literal(holdout.experiment)}
              and assigned.customer_key in (select customer_key from outcomes)
            group by all
        ),
        days as (select unnest(range(0, {int(holdout.window_days) + 1})) as day),
        sizes as (select arm, count(*) as n from outcomes group by arm)
        select days.day, sizes.arm,
            count(first_purchase.customer_key) / any_value(sizes.n) as cumulative_rate
        from days cross join sizes
        left join first_purchase
            on first_purchase.arm = sizes.arm and first_purchase.day <= days.day
        group by all
        order by sizes.arm, days.day
    """


def analysis_date_passed(as_of: datetime, analysis_date: date) -> bool:
    return as_of.astimezone(UTC).date() >= analysis_date


def store_results(
    con: duckdb.DuckDBPyConnection, results: pd.DataFrame, schema: str = "exports"
) -> None:
    """Replace this experiment's rows in `<schema>.experiment_results` (one transaction)."""
    if results.empty:
        return
    con.execute(f"create schema if not exists {schema}")
    con.register("_act_results_df", results)
    try:
        con.execute(
            f"create table if not exists {schema}.experiment_results as "
            "select * from _act_results_df where false"
        )
        con.execute("begin transaction")
        con.execute(
            f"delete from {schema}.experiment_results where experiment in "
            "(select distinct experiment from _act_results_df)"
        )
        con.execute(
            f"insert into {schema}.experiment_results by name select * from _act_results_df"
        )
        con.execute("commit")
    finally:
        con.unregister("_act_results_df")


def daily_conversion(
    con: duckdb.DuckDBPyConnection,
    holdout: Holdout,
    as_of: datetime,
    schema: str = "exports",
    orders_table: str = "marts.fct_orders",
) -> pd.DataFrame:
    naive = as_of.astimezone(UTC).replace(tzinfo=None)
    return con.execute(daily_conversion_sql(holdout, schema, orders_table), [naive]).df()

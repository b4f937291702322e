"""Bring your own data: check the churn and CLV models on any transactions file.

A transactions file (CSV or Parquet) has a customer id, a timestamp and an amount per row,
in columns the caller names. It is read by DuckDB as text and validated row by row: the
first unparseable date, missing id or negative amount stops the run with the file, the
1-based data row, the column and the value. Valid rows become the `orders` of an in-memory
warehouse (the other sources empty), so the very same feature SQL, models and metrics as
the pipeline's run on it. Nothing here prints: the CLI formats the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from python_models.predictions.churn import LOGISTIC, ChurnParams
from python_models.predictions.clv import ClvError
from python_models.predictions.features import FeatureSources
from python_models.predictions.pipeline import (
    ChurnEvaluation,
    churn_cutoffs,
    evaluate_clv_holdout,
    read_features,
    read_summary,
    train_and_evaluate,
)


class InputFileError(ValueError):
    """A row of the user's file breaks a rule; the message says where and what to do."""


@dataclass(frozen=True)
class TransactionColumns:
    customer_id: str = "customer_id"
    ordered_at: str = "ordered_at"
    amount: str = "amount"


def _reader(path: Path) -> str:
    literal = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{literal}')"
    return f"read_csv('{literal}', all_varchar = true, header = true)"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_columns(con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    return set(con.sql(f"select * from {_reader(path)} limit 0").columns)


def _first_violation(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    rules: list[tuple[str, str, str, str]],
) -> None:
    """Raise on the first row of `table` breaking a (column, condition, value, problem) rule."""
    for column, condition, value_column, problem in rules:
        bad = con.execute(
            f"select data_row, {value_column}, count(*) over () from {table} where {condition} "
            "order by data_row limit 1"
        ).fetchall()
        if bad:
            row, value, count = bad[0]
            raise InputFileError(
                f"{path}, row {row}, column {column!r}: value {value!r} {problem} "
                f"({count} row(s) like this)"
            )


def load_transactions(
    con: duckdb.DuckDBPyConnection, path: Path | str, columns: TransactionColumns
) -> int:
    """Validate `path` and load it as `byod.orders` (+ the empty sources); return its rows."""
    path = Path(path)
    present = _file_columns(con, path)
    wanted = {
        "customer id": columns.customer_id,
        "date": columns.ordered_at,
        "amount": columns.amount,
    }
    missing = [f"{role} column {name!r}" for role, name in wanted.items() if name not in present]
    if missing:
        raise InputFileError(
            f"{path}: missing {', '.join(missing)}; the file has {sorted(present)}. "
            "Pass the column names with --customer-column/--date-column/--amount-column."
        )
    cid, ts, amount = (
        _quoted(c) for c in (columns.customer_id, columns.ordered_at, columns.amount)
    )
    con.execute(
        f"""
        create or replace temp table byod_raw as
        select row_number() over () as data_row,
               {cid}::varchar as customer_id, {ts}::varchar as ordered_at_text,
               {amount}::varchar as amount_text
        from {_reader(path)}
        """
    )
    rules = [
        (
            columns.customer_id,
            "customer_id is null or trim(customer_id) = ''",
            "customer_id",
            "is empty: every row needs a customer id",
        ),
        (
            columns.ordered_at,
            "try_cast(ordered_at_text as timestamp) is null",
            "ordered_at_text",
            "is not a date or timestamp (use ISO 8601, e.g. 2026-03-01 or 2026-03-01T10:15:00)",
        ),
        (
            columns.amount,
            "try_cast(amount_text as double) is null",
            "amount_text",
            "is not a number",
        ),
        (
            columns.amount,
            "try_cast(amount_text as double) < 0",
            "amount_text",
            "is negative: returns are not purchases; drop or net them before evaluating",
        ),
    ]
    _first_violation(con, "byod_raw", path, rules)
    con.execute("create schema if not exists byod")
    con.execute(
        """
        create or replace table byod.orders as
        select
            'o' || data_row as order_id,
            trim(customer_id) as customer_key,
            'online' as channel,
            cast(ordered_at_text as timestamp) as ordered_at,
            'completed' as status,
            false as is_return,
            cast(amount_text as double) as net_amount_reporting
        from byod_raw
        """
    )
    con.execute(
        "create or replace table byod.identity_graph as select distinct customer_key, "
        "'byod' as source_system, customer_key as source_record_id from byod.orders"
    )
    for ddl in (
        "order_lines (order_id varchar, channel varchar, product_id varchar, "
        "net_amount_reporting double)",
        "products (product_id varchar, category varchar)",
        "events (customer_key varchar, session_id varchar, event_name varchar, "
        "occurred_at timestamp)",
        "tickets (ticket_id varchar, opened_at timestamp, satisfaction_score double)",
        "consent_events (identifier_type varchar, identifier_match_key varchar, "
        "purpose varchar, is_granted boolean, occurred_at timestamp)",
        "person_records (customer_key varchar, email varchar)",
    ):
        con.execute(f"create or replace table byod.{ddl}")
    return int(con.execute("select count(*) from byod.orders").fetchall()[0][0])


BYOD_SOURCES = FeatureSources.in_schema("byod")


@dataclass
class ByodReport:
    rows: int
    customers: int
    cutoff: datetime
    horizon_days: int
    churn: ChurnEvaluation
    clv: ClvError
    clv_horizon_days: int
    seconds: dict[str, float] = field(default_factory=dict)


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[datetime, datetime]:
    return con.execute("select min(ordered_at), max(ordered_at) from byod.orders").fetchall()[0]


def evaluate_transactions(
    con: duckdb.DuckDBPyConnection,
    *,
    cutoff: datetime | None,
    horizon_days: int,
    train_cutoffs: int = 4,
    cutoff_step_days: int = 30,
    sample_size: int | None = 200_000,
    params: ChurnParams | None = None,
) -> ByodReport:
    """Churn (ours vs BG/NBD) and CLV error on the loaded file; cutoff defaults to last - horizon.

    The test cutoff is `cutoff`; labels are purchases in [cutoff, cutoff + horizon), so the
    file must reach that far. CLV is fitted at the same cutoff and checked on what follows it.
    """
    params = params or ChurnParams()
    first, last = data_span(con)
    if cutoff is None:
        cutoff = (last - timedelta(days=horizon_days)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
    if cutoff + timedelta(days=horizon_days) > last + timedelta(days=1):
        raise InputFileError(
            f"the file ends {last:%Y-%m-%d}: a cutoff of {cutoff:%Y-%m-%d} with a "
            f"{horizon_days}-day horizon needs data until "
            f"{cutoff + timedelta(days=horizon_days):%Y-%m-%d}; choose an earlier --cutoff"
        )
    as_of = cutoff + timedelta(days=horizon_days)
    train, test = churn_cutoffs(as_of, horizon_days, train_cutoffs, cutoff_step_days)
    if train[0] <= first:
        raise InputFileError(
            f"the file starts {first:%Y-%m-%d}: the oldest training cutoff {train[0]:%Y-%m-%d} "
            "has no history; use fewer --train-cutoffs or a later --cutoff"
        )
    frame = read_features(
        con,
        BYOD_SOURCES,
        [*train, test],
        horizon_days,
        sample_size=sample_size,
        seed=params.seed,
        with_outcome=True,
    )
    _, evaluation, _ = train_and_evaluate(frame, test, params)
    clv_horizon = int(min(365, (last - cutoff).days + 1))
    summary = read_summary(
        con,
        BYOD_SOURCES,
        cutoff,
        sample_size=sample_size,
        seed=params.seed,
        horizon_days=clv_horizon,
    )
    _, clv_error = evaluate_clv_holdout(summary, clv_horizon)
    rows, customers = con.execute(
        "select count(*), count(distinct customer_key) from byod.orders"
    ).fetchall()[0]
    return ByodReport(
        rows=int(rows),
        customers=int(customers),
        cutoff=cutoff,
        horizon_days=horizon_days,
        churn=evaluation,
        clv=clv_error,
        clv_horizon_days=clv_horizon,
    )


def format_churn_report(report: ByodReport) -> str:
    """The side-by-side table the `predict churn-eval` command prints."""
    ours = report.churn.candidates[report.churn.chosen]
    baseline = report.churn.candidates[LOGISTIC]
    bgnbd = report.churn.bgnbd
    rows = [
        (f"ours ({report.churn.chosen})", ours),
        ("logistic regression", baseline),
        ("BG/NBD expected purchases", bgnbd),
    ]
    lines = [
        f"{report.rows:,} transactions, {report.customers:,} customers; test cutoff "
        f"{report.cutoff:%Y-%m-%d}, churn = no purchase in the next {report.horizon_days} days "
        f"({report.churn.n_train_rows:,} training rows, {report.churn.n_test_rows:,} test "
        f"customers, churn rate {ours['churn_rate']:.1%})",
        "",
        f"{'model':<34}{'ROC-AUC':>9}{'PR-AUC':>9}{'Brier':>9}{'lift@10%':>10}",
    ]
    for name, m in rows:
        lines.append(
            f"{name:<34}{m['roc_auc']:>9.4f}{m['pr_auc']:>9.4f}{m['brier']:>9.4f}"
            f"{m['top_decile_lift']:>10.2f}"
        )
    lines.append(f"{'recency alone':<34}{report.churn.recency_only_roc_auc:>9.4f}")
    c = report.clv
    lines += [
        "",
        f"CLV (BG/NBD + Gamma-Gamma) fitted at the cutoff, checked on the next "
        f"{report.clv_horizon_days} days, {c.customers:,} customers:",
        f"  purchases per customer MAE {c.purchases_mae:.3f}; total predicted "
        f"{c.predicted_purchases_total:,.0f} vs actual {c.actual_purchases_total:,.0f} "
        f"({c.purchases_total_error:+.1%})",
        f"  value per customer MAE {c.value_mae:,.2f}; total predicted "
        f"{c.predicted_value_total:,.0f} vs actual {c.actual_value_total:,.0f} "
        f"({c.value_total_error:+.1%})",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class InteractionColumns:
    user_id: str = "user_id"
    item_id: str = "item_id"
    occurred_at: str = "timestamp"
    weight: str | None = None


def load_interactions(
    con: duckdb.DuckDBPyConnection, path: Path | str, columns: InteractionColumns
) -> pd.DataFrame:
    """user_id, item_id, occurred_at[, weight] from a CSV/Parquet file, validated row by row."""
    path = Path(path)
    present = _file_columns(con, path)
    wanted = [columns.user_id, columns.item_id, columns.occurred_at]
    if columns.weight:
        wanted.append(columns.weight)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise InputFileError(
            f"{path}: missing column(s) {missing}; the file has {sorted(present)}. "
            "Pass the names with --user-column/--item-column/--time-column/--weight-column."
        )
    weight = f"{_quoted(columns.weight)}::varchar" if columns.weight else "'1'"
    con.execute(
        f"""
        create or replace temp table byod_interactions as
        select row_number() over () as data_row,
               {_quoted(columns.user_id)}::varchar as user_id,
               {_quoted(columns.item_id)}::varchar as item_id,
               {_quoted(columns.occurred_at)}::varchar as occurred_at_text,
               {weight} as weight_text
        from {_reader(path)}
        """
    )
    rules = [
        (columns.user_id, "user_id is null or trim(user_id) = ''", "user_id", "is empty"),
        (columns.item_id, "item_id is null or trim(item_id) = ''", "item_id", "is empty"),
        (
            columns.occurred_at,
            "try_cast(occurred_at_text as timestamp) is null",
            "occurred_at_text",
            "is not a date or timestamp (use ISO 8601)",
        ),
        (
            columns.weight or "weight",
            "try_cast(weight_text as double) is null",
            "weight_text",
            "is not a number",
        ),
        (
            columns.weight or "weight",
            "try_cast(weight_text as double) < 0",
            "weight_text",
            "is negative: weights say how much an interaction counts, from 0 up",
        ),
    ]
    _first_violation(con, "byod_interactions", path, rules)
    return con.sql(
        "select trim(user_id) as user_id, trim(item_id) as item_id, "
        "cast(occurred_at_text as timestamp) as occurred_at, "
        "cast(weight_text as double) as weight from byod_interactions order by data_row"
    ).df()


def format_recommendation_report(results: dict[str, dict[str, float]], rows: int) -> str:
    lines = [
        f"{rows:,} interactions; each user's last 20 % of interactions held out",
        "",
        f"{'method':<14}{'precision@10':>14}{'recall@10':>11}{'coverage':>10}{'vs popularity':>15}",
    ]
    for method, m in results.items():
        lines.append(
            f"{method:<14}{m['precision_at_10']:>14.4f}{m['recall_at_10']:>11.4f}"
            f"{m['coverage']:>10.3f}{m.get('lift_vs_popularity', 0.0):>+15.1%}"
        )
    lines.append(f"({results.get('hybrid', {}).get('users', 0):,} users evaluated)")
    return "\n".join(lines)


def load_catalog(
    con: duckdb.DuckDBPyConnection, path: Path | None, interactions: pd.DataFrame
) -> pd.DataFrame:
    """item_id, category, tags from `path`, or a bare catalog of the interactions' items."""
    if path is None:
        items = pd.unique(interactions["item_id"])
        return pd.DataFrame({"item_id": items, "category": "unknown", "tags": ""})
    frame = con.sql(f"select * from {_reader(Path(path))}").df()
    missing = [c for c in ("item_id", "category") if c not in frame.columns]
    if missing:
        raise InputFileError(f"{path}: a catalog needs columns item_id and category (+ tags)")
    if "tags" not in frame.columns:
        frame["tags"] = ""
    return frame.assign(item_id=frame["item_id"].astype(str))

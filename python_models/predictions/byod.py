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

from python_models.predictions.churn import ChurnParams
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


def load_transactions(
    con: duckdb.DuckDBPyConnection, path: Path | str, columns: TransactionColumns
) -> int:
    """Validate `path` and load it as `byod.orders` (+ the empty sources); return its rows."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    raw = con.sql(f"select * from {_reader(path)}")
    present = set(raw.columns)
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
    for column, condition, value_column, problem in rules:
        bad = con.execute(
            f"select data_row, {value_column}, count(*) over () from byod_raw where {condition} "
            "order by data_row limit 1"
        ).fetchall()
        if bad:
            row, value, count = bad[0]
            raise InputFileError(
                f"{path}, row {row}, column {column!r}: value {value!r} {problem} "
                f"({count} row(s) like this)"
            )
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


BYOD_SOURCES = FeatureSources(
    customers="byod.identity_graph",
    orders="byod.orders",
    order_lines="byod.order_lines",
    products="byod.products",
    events="byod.events",
    tickets="byod.tickets",
    identity_graph="byod.identity_graph",
    consent_events="byod.consent_events",
    person_records="byod.person_records",
)


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

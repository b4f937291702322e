"""`customer360 predict churn-eval | recs-eval`: check the models on your own data.

`churn-eval` trains and evaluates the churn models on any transactions file (customer id,
date, amount) and prints ROC-AUC, PR-AUC, Brier score and top-decile lift for ours, the
logistic baseline and BG/NBD on the same split, plus the CLV holdout error. `recs-eval`
evaluates next-best products on any interactions file (user, item, timestamp[, weight])
with a per-user time split and prints ours vs popularity. A bad row stops the run with the
file, row, column and value (exit code 2). The logic is python_models/predictions/byod.py.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import console, fail, settings_for

app = typer.Typer(
    help="Predictions: evaluate churn, CLV and recommendations on your own files.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

FileArgument = Annotated[Path, typer.Argument(help="CSV or Parquet file")]


@app.command("churn-eval")
def churn_eval(
    file: FileArgument,
    customer_column: Annotated[str, typer.Option(help="customer id column")] = "customer_id",
    date_column: Annotated[str, typer.Option(help="purchase date/time column")] = "ordered_at",
    amount_column: Annotated[str, typer.Option(help="purchase amount column")] = "amount",
    cutoff: Annotated[
        str | None,
        typer.Option(help="test cutoff, ISO date \\[default: last date - horizon]"),
    ] = None,
    horizon_days: Annotated[int, typer.Option(help="churn = no purchase in this many days")] = 90,
    train_cutoffs: Annotated[int, typer.Option(help="training cutoffs before the test")] = 4,
) -> None:
    """Churn (ours vs BG/NBD) and CLV error on a transactions file.

    Example: [bold]customer360 predict churn-eval orders.csv --customer-column CustomerID
    --date-column InvoiceDate --amount-column Amount --horizon-days 90[/]
    """
    from python_models.predictions import byod
    from python_models.warehouse import connect

    settings = settings_for()
    columns = byod.TransactionColumns(customer_column, date_column, amount_column)
    with connect(":memory:", memory_limit=settings.duckdb_memory_limit) as con:
        try:
            byod.load_transactions(con, file, columns)
            report = byod.evaluate_transactions(
                con,
                cutoff=datetime.fromisoformat(cutoff) if cutoff else None,
                horizon_days=horizon_days,
                train_cutoffs=train_cutoffs,
            )
        except byod.InputFileError as exc:
            fail(str(exc))
    console.print(byod.format_churn_report(report), markup=False)


@app.command("recs-eval")
def recs_eval(
    file: FileArgument,
    user_column: Annotated[str, typer.Option(help="user id column")] = "user_id",
    item_column: Annotated[str, typer.Option(help="item id column")] = "item_id",
    time_column: Annotated[str, typer.Option(help="interaction time column")] = "timestamp",
    weight_column: Annotated[
        str | None, typer.Option(help="optional weight column \\[default: every row counts 1]")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="optional item_id,category,tags file (content fallback)")
    ] = None,
) -> None:
    """Next-best products (ours vs popularity) on an interactions file.

    Example: [bold]customer360 predict recs-eval events.csv --user-column user
    --item-column product --time-column ts[/]
    """
    from python_models.predictions import byod
    from python_models.predictions.recommendations import evaluate_recommender
    from python_models.warehouse import connect

    settings = settings_for()
    columns = byod.InteractionColumns(user_column, item_column, time_column, weight_column)
    with connect(":memory:", memory_limit=settings.duckdb_memory_limit) as con:
        try:
            interactions = byod.load_interactions(con, file, columns)
            items = byod.load_catalog(con, catalog, interactions)
        except byod.InputFileError as exc:
            fail(str(exc))
    results = evaluate_recommender(interactions, items)
    console.print(byod.format_recommendation_report(results, len(interactions)), markup=False)

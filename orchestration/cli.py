"""`customer360` command line: build the warehouse, or part of it, and say what it holds.

    python -m orchestration.cli demo                      # everything, on the sample
    python -m orchestration.cli materialize 'group:extract'
    python -m orchestration.cli summary

Runs go through the same Dagster definitions as the scheduler and the UI, in-process, so
what the demo builds is exactly what production builds.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.settings import get_settings
from python_models.quality.config import quality_settings
from python_models.settings import landing_dir, warehouse_path

SUMMARY_SCHEMAS = ("marts", "identity", "models", "dq", "quarantine", "audit")


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs() if callable(defs) else defs


def materialize(selection: str = "*") -> dg.ExecuteInProcessResult:
    """Materialise the assets matching a Dagster selection string in this process."""
    definitions = load_definitions()
    with warnings.catch_warnings():  # from_string is marked beta; the syntax is documented
        warnings.simplefilter("ignore", dg.BetaWarning)
        asset_selection = dg.AssetSelection.from_string(selection)
    job = dg.define_asset_job("cli_run", selection=asset_selection)
    resolved = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def(
        "cli_run"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return resolved.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )


def table_counts(database: Path, schemas: tuple[str, ...] = SUMMARY_SCHEMAS) -> list[tuple]:
    """(schema, table, rows) for every table in the given schemas, in name order."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by 1, 2",
            [list(schemas)],
        ).fetchall()
        return [
            (schema, table, con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
            for schema, table in tables
        ]


def print_summary(database: Path) -> None:
    print(f"\nWarehouse: {database}")
    print(f"{'table':<48}{'rows':>12}")
    for schema, table, rows in table_counts(database):
        print(f"{schema + '.' + table:<48}{rows:>12,}")
    print(
        "\nQuery it (read-only, so the pipeline can keep writing):\n"
        '  .venv/bin/python -c "import duckdb; '
        f"print(duckdb.connect('{database}', read_only=True).sql('from marts.segment_summary'))\"\n"
        "Analyst recipes: docs/cookbook.md · table meanings: docs/data-dictionary.md · "
        f"data-quality report: {quality_settings().scorecard_path}"
    )


def report_failures(result: dg.ExecuteInProcessResult) -> int:
    failures = [e for e in result.all_events if e.is_step_failure]
    for event in failures:
        error = event.step_failure_data.error
        print(f"\nFAILED step {event.step_key}: {error.message.strip() if error else ''}")
    return 1 if failures or not result.success else 0


def add_predict_commands(commands: argparse._SubParsersAction) -> None:
    """`predict churn-eval` / `predict recs-eval`: our models vs their yardsticks on any file."""
    predict = commands.add_parser("predict", help="check churn, CLV and recs on your own data")
    sub = predict.add_subparsers(dest="predict_command", required=True)
    churn = sub.add_parser(
        "churn-eval",
        help="churn (ours vs BG/NBD) and CLV error on a transactions file",
        description="e.g. customer360 predict churn-eval orders.csv --customer-column "
        "CustomerID --date-column InvoiceDate --amount-column Amount --horizon-days 90",
    )
    churn.add_argument("file", type=Path, help="CSV or Parquet, one row per purchase")
    churn.add_argument("--customer-column", default="customer_id")
    churn.add_argument("--date-column", default="ordered_at")
    churn.add_argument("--amount-column", default="amount")
    churn.add_argument("--cutoff", help="test cutoff (ISO date); default: last date - horizon")
    churn.add_argument("--horizon-days", type=int, default=90)
    churn.add_argument("--train-cutoffs", type=int, default=4)
    recs = sub.add_parser(
        "recs-eval",
        help="next-best products (ours vs popularity) on an interactions file",
        description="e.g. customer360 predict recs-eval events.csv --user-column user "
        "--item-column product --time-column ts [--weight-column w]",
    )
    recs.add_argument("file", type=Path, help="CSV or Parquet, one row per interaction")
    recs.add_argument("--user-column", default="user_id")
    recs.add_argument("--item-column", default="item_id")
    recs.add_argument("--time-column", default="timestamp")
    recs.add_argument("--weight-column", default=None)
    recs.add_argument("--catalog", type=Path, help="optional item_id,category,tags file")


def run_predict_command(args: argparse.Namespace) -> int:
    from datetime import datetime

    from python_models.predictions import byod
    from python_models.predictions.recommendations import evaluate_recommender
    from python_models.warehouse import connect

    settings = get_settings()
    con = connect(":memory:", memory_limit=settings.duckdb_memory_limit)
    try:
        if args.predict_command == "churn-eval":
            byod.load_transactions(
                con,
                args.file,
                byod.TransactionColumns(args.customer_column, args.date_column, args.amount_column),
            )
            report = byod.evaluate_transactions(
                con,
                cutoff=datetime.fromisoformat(args.cutoff) if args.cutoff else None,
                horizon_days=args.horizon_days,
                train_cutoffs=args.train_cutoffs,
            )
            print(byod.format_churn_report(report))
        else:
            interactions = byod.load_interactions(
                con,
                args.file,
                byod.InteractionColumns(
                    args.user_column, args.item_column, args.time_column, args.weight_column
                ),
            )
            catalog = byod.load_catalog(con, args.catalog, interactions)
            results = evaluate_recommender(interactions, catalog)
            print(byod.format_recommendation_report(results, len(interactions)))
    except byod.InputFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customer360", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build everything from the landing dir and summarise")
    demo.add_argument("--warehouse", type=Path, help="DuckDB file (default data/warehouse.duckdb)")
    run = commands.add_parser("materialize", help="build the assets matching a selection")
    run.add_argument("selection", help="Dagster selection, e.g. '*' or 'group:extract'")
    commands.add_parser("summary", help="row counts of every mart and output table")
    add_predict_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "predict":
        return run_predict_command(args)

    if getattr(args, "warehouse", None):
        os.environ["CUSTOMER360_WAREHOUSE"] = str(args.warehouse.resolve())
    database = warehouse_path()
    database.parent.mkdir(parents=True, exist_ok=True)

    if args.command == "summary":
        print_summary(database)
        return 0
    selection = "*" if args.command == "demo" else args.selection
    print(f"Building '{selection}' from {landing_dir()} into {database} ...")
    started = time.perf_counter()
    result = materialize(selection)
    status = report_failures(result)
    print(
        f"{'Done' if status == 0 else 'Finished with failures'} in "
        f"{time.perf_counter() - started:.1f}s"
    )
    if args.command == "demo":
        print_summary(database)
    return status


if __name__ == "__main__":
    sys.exit(main())

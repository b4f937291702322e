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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customer360", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build everything from the landing dir and summarise")
    demo.add_argument("--warehouse", type=Path, help="DuckDB file (default data/warehouse.duckdb)")
    run = commands.add_parser("materialize", help="build the assets matching a selection")
    run.add_argument("selection", help="Dagster selection, e.g. '*' or 'group:extract'")
    commands.add_parser("summary", help="row counts of every mart and output table")
    args = parser.parse_args(argv)

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

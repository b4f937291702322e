"""`customer360 demo | materialize | summary`: build the warehouse, or part of it, and count it.

Runs go through the same Dagster definitions as the scheduler and the UI, in-process, so
what the demo builds is exactly what production builds.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestration.cli.common import WarehouseOption, fail, settings_for
from orchestration.run_lock import WarehouseBusy, hold_run_lock
from orchestration.settings import Settings
from python_models.warehouse import connect

if TYPE_CHECKING:
    import dagster as dg

SUMMARY_SCHEMAS = ("marts", "identity", "models", "dq", "quarantine", "audit")


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs() if callable(defs) else defs


def materialize(selection: str = "*") -> dg.ExecuteInProcessResult:
    """Materialise the assets matching a Dagster selection string in this process."""
    import dagster as dg

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


def table_counts(
    database: Path, memory_limit: str, schemas: tuple[str, ...] = SUMMARY_SCHEMAS
) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table in the given schemas, in name order."""
    with connect(database, memory_limit=memory_limit, read_only=True) as con:
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


def print_summary(settings: Settings) -> None:
    database = settings.warehouse
    print(f"\nWarehouse: {database}")
    print(f"{'table':<48}{'rows':>12}")
    for schema, table, rows in table_counts(database, settings.duckdb_memory_limit):
        print(f"{schema + '.' + table:<48}{rows:>12,}")
    snapshot = settings.analyst_snapshot
    print(
        f"\nQuery the analyst snapshot {snapshot} (the last complete run; keep it open all day,\n"
        "runs publish a new one beside it and never wait for you):\n"
        f"  .venv/bin/duckdb -readonly {snapshot} -c 'from marts.segment_summary'\n"
        "Analyst recipes: docs/cookbook.md · table meanings: docs/data-dictionary.md · "
        f"data-quality report: {settings.quality().scorecard_path}"
    )


def report_failures(result: dg.ExecuteInProcessResult) -> int:
    failures = [e for e in result.all_events if e.is_step_failure]
    for event in failures:
        error = event.step_failure_data.error
        print(f"\nFAILED step {event.step_key}: {error.message.strip() if error else ''}")
    return 1 if failures or not result.success else 0


def build(selection: str, settings: Settings, wait_seconds: float = 0.0) -> int:
    """Run the selection under the warehouse's run lock; a second run fails fast (exit 3)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        with hold_run_lock(
            settings.warehouse, wait_seconds=wait_seconds, command=f"customer360 {selection!r}"
        ):
            return _build_locked(selection, settings)
    except WarehouseBusy as busy:
        fail(str(busy), code=3)
        raise  # fail() exits; this keeps type checkers content


def _build_locked(selection: str, settings: Settings) -> int:
    print(f"Building '{selection}' from {settings.landing_dir} into {settings.warehouse} ...")
    started = time.perf_counter()
    status = report_failures(materialize(selection))
    print(
        f"{'Done' if status == 0 else 'Finished with failures'} in "
        f"{time.perf_counter() - started:.1f}s"
    )
    return status


WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        help="seconds to wait for another run on the same warehouse to finish (0: fail at once)",
    ),
]


def demo_command(warehouse: WarehouseOption = None, wait: WaitOption = 0.0) -> None:
    """Build everything from the landing dir into the warehouse, then print what it holds.

    Example: [bold]customer360 demo --warehouse data/warehouse.duckdb[/]
    """
    settings = settings_for(warehouse=warehouse)
    status = build("*", settings, wait_seconds=wait)
    print_summary(settings)
    raise typer.Exit(status)


def materialize_command(
    selection: Annotated[
        str, typer.Argument(help="Dagster asset selection, e.g. '*', 'group:extract'")
    ],
    warehouse: WarehouseOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Build the assets matching a Dagster selection (and run their checks).

    Example: [bold]customer360 materialize 'key:"marts/dim_customers"'[/] or
    [bold]customer360 materialize '+group:identity'[/]
    """
    raise typer.Exit(build(selection, settings_for(warehouse=warehouse), wait_seconds=wait))


def publish_command(warehouse: WarehouseOption = None, wait: WaitOption = 0.0) -> None:
    """Publish the analyst snapshot now (each full run does it at its end).

    Example: [bold]customer360 publish --warehouse data/warehouse.duckdb[/]
    """
    from orchestration.cli.common import existing_warehouse, open_warehouse
    from python_models.publish import publish_snapshot

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    try:
        lock = hold_run_lock(settings.warehouse, wait_seconds=wait, command="customer360 publish")
        with lock, open_warehouse(settings) as con:
            result = publish_snapshot(
                con, settings.analyst_snapshot, run_id="cli-publish", as_of=settings.as_of
            )
    except WarehouseBusy as busy:
        fail(str(busy), code=3)
    print(result.describe())
    print(f"Analysts: .venv/bin/duckdb -readonly {result.path}")


def summary_command(warehouse: WarehouseOption = None) -> None:
    """Row counts of every mart and output table.

    Example: [bold]customer360 summary --warehouse data/warehouse.duckdb[/]
    """
    from orchestration.cli.common import existing_warehouse

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    print_summary(settings)

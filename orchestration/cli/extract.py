"""`customer360 extract`: load a landing dir into the warehouse and print the load report.

The same loader the Dagster extract assets run, for a one-off load or a benchmark. Exits 1
when a file was rejected, so a script notices.
"""

import time
from typing import Annotated

import typer

from orchestration.cli.common import LandingOption, WarehouseOption, open_warehouse, settings_for
from python_models.contract import SOURCE_SYSTEMS
from python_models.extract.loader import DEFAULT_WORKERS, load_landing_dir
from python_models.quality.quarantine import quarantine_load


def extract(
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    source: Annotated[
        str | None,
        typer.Option(help=f"only this source system: {', '.join(SOURCE_SYSTEMS)}"),
    ] = None,
    retry_rejected: Annotated[
        bool, typer.Option("--retry-rejected", help="try files rejected before again")
    ] = False,
    workers: Annotated[
        int, typer.Option(help="files loaded at the same time", min=1)
    ] = DEFAULT_WORKERS,
) -> None:
    """Load new landing files into raw.*, quarantine bad rows, and print what happened.

    Example: [bold]customer360 extract --landing seeds/sample --source web[/]
    """
    if source is not None and source not in SOURCE_SYSTEMS:
        raise typer.BadParameter(
            f"unknown source {source!r}; choose one of {', '.join(SOURCE_SYSTEMS)}",
            param_hint="--source",
        )
    settings = settings_for(warehouse=warehouse, landing=landing)
    started = time.perf_counter()
    with open_warehouse(settings) as con:
        report = load_landing_dir(
            con,
            settings.landing_dir,
            source=source,
            quarantine=quarantine_load,
            retry_rejected=retry_rejected,
            workers=workers,
            tombstone_key=settings.privacy_key(),
        )
    seconds = time.perf_counter() - started
    print(report.summary())
    rows = report.total("rows_loaded")
    print(f"{rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)")
    raise typer.Exit(1 if report.rejected else 0)

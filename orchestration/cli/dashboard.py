"""`customer360 dashboard`: write the static HTML dashboard from the warehouse as it is."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import (
    WarehouseOption,
    existing_warehouse,
    open_warehouse,
    settings_for,
)


def dashboard(
    warehouse: WarehouseOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="HTML file to write \\[default: data/dashboard.html]", show_default=False
        ),
    ] = None,
) -> None:
    """Write the dashboard (one HTML file, opens offline) from the warehouse as it is now.

    Every run of the pipeline writes it too (asset reports/dashboard); this command redraws it
    without running anything, e.g. after `customer360 quality replay`.

    Example: [bold]customer360 dashboard --out /tmp/dashboard.html[/]
    """
    from python_models.dashboard import collect_dashboard_data, render_dashboard, write_dashboard

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    with open_warehouse(settings, read_only=True) as con:
        data = collect_dashboard_data(con)
    generated_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path = write_dashboard(
        out or settings.dashboard_path, render_dashboard(data, generated_at=generated_at)
    )
    print(f"dashboard (as of {data.as_of or 'no run yet'}): {path}")

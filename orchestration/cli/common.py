"""What every command shares: the settings flags, the console, and opening the warehouse."""

from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from orchestration.settings import Settings, get_settings
from python_models.warehouse import connect, set_as_of

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        help="DuckDB warehouse file \\[default: CUSTOMER360_WAREHOUSE or data/warehouse.duckdb]",
        show_default=False,
    ),
]
LandingOption = Annotated[
    Path | None,
    typer.Option(
        "--landing",
        help="landing folder \\[default: CUSTOMER360_LANDING_DIR or the committed sample]",
        show_default=False,
    ),
]


def settings_for(warehouse: Path | None = None, landing: Path | None = None) -> Settings:
    """The process's settings with this command's flags applied, for it and its children."""
    settings = get_settings().with_overrides(warehouse=warehouse, landing_dir=landing)
    settings.apply_to_environment()
    return settings


def existing_warehouse(settings: Settings) -> Path:
    """The warehouse path, or a clear error and exit 2 when there is no such file."""
    if not settings.warehouse.is_file():
        fail(
            f"warehouse {settings.warehouse} does not exist: build it first "
            "(`customer360 demo`) or pass --warehouse"
        )
    return settings.warehouse


def open_warehouse(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose quality rules judge time by the settings' as_of (one clock)."""
    con = connect(
        settings.warehouse, memory_limit=settings.duckdb_memory_limit, read_only=read_only
    )
    set_as_of(con, settings.as_of)
    return con


def fail(message: str, code: int = 2) -> None:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)

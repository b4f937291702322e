"""`customer360 docs`: regenerate docs/data-dictionary.md from the dbt yml and dbt's catalog."""

import json
import subprocess
from typing import Annotated

import typer

from orchestration.cli.common import WarehouseOption, existing_warehouse, fail, settings_for
from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT

DATA_DICTIONARY = PROJECT_ROOT / "docs" / "data-dictionary.md"
CATALOG_COLUMNS = PROJECT_ROOT / "docs" / "catalog-columns.json"


def render_current() -> str:
    """The dictionary from the yml and the committed catalog snapshot."""
    from python_models.data_dictionary import read_catalog_columns, render_data_dictionary

    return render_data_dictionary(DBT_PROJECT_DIR, read_catalog_columns(CATALOG_COLUMNS))


def refresh_catalog(warehouse=None) -> int:
    """Run `dbt docs generate` on the built warehouse; keep its columns and types."""
    from python_models.data_dictionary import catalog_columns, write_catalog_columns
    from python_models.transform import dbt_executable

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    result = subprocess.run(
        [dbt_executable(), "docs", "generate", "--quiet", "--no-use-colors"],
        cwd=DBT_PROJECT_DIR,
        env=settings.subprocess_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        fail(
            "`dbt docs generate` failed on "
            f"{settings.warehouse}; build the warehouse first (`customer360 demo`):\n"
            + (result.stdout + result.stderr)[-2000:]
        )
    catalog = json.loads((DBT_PROJECT_DIR / "target" / "catalog.json").read_text())
    columns = catalog_columns(catalog)
    write_catalog_columns(CATALOG_COLUMNS, columns)
    return len(columns)


def docs(
    check: Annotated[
        bool, typer.Option("--check", help="write nothing; exit 1 if the file is stale")
    ] = False,
    catalog: Annotated[
        bool,
        typer.Option(
            "--catalog",
            help="first run `dbt docs generate` on the warehouse and refresh "
            "docs/catalog-columns.json (the types)",
        ),
    ] = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Regenerate docs/data-dictionary.md from the dbt yml, with types from dbt's catalog.

    Example: [bold]customer360 docs --catalog[/] (after `customer360 demo`);
    [bold]customer360 docs --check[/] (what CI runs)
    """
    if catalog:
        tables = refresh_catalog(warehouse)
        print(f"catalog: {tables} tables -> {CATALOG_COLUMNS}")
    rendered = render_current()
    if check:
        current = DATA_DICTIONARY.read_text() if DATA_DICTIONARY.exists() else ""
        if current != rendered:
            fail(f"{DATA_DICTIONARY} is stale: run `customer360 docs`", code=1)
        print(f"{DATA_DICTIONARY} is up to date.")
        return
    DATA_DICTIONARY.write_text(rendered)
    print(f"wrote {DATA_DICTIONARY}")

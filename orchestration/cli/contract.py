"""`customer360 contract sync | check`: keep the dbt source yml in step with the raw contract."""

from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import errors
from orchestration.settings import DBT_PROJECT_DIR
from python_models.contract.dbt_sources import drift, sync

app = typer.Typer(
    help="The raw contract: generate and check the dbt source yml it declares.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
ProjectDirOption = Annotated[Path, typer.Option(help="the dbt project")]


@app.command("sync")
def sync_command(project_dir: ProjectDirOption = DBT_PROJECT_DIR) -> None:
    """Rewrite the staging/*/_*__sources.yml files that drifted from the contract.

    Example: [bold]customer360 contract sync[/] (after adding a column in
    python_models/contract/tables.py)
    """
    written = sync(project_dir)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("dbt source yml already matches the contract")


@app.command("check")
def check_command(project_dir: ProjectDirOption = DBT_PROJECT_DIR) -> None:
    """Exit 1 and name the difference when a dbt source yml drifted from the contract.

    Example: [bold]customer360 contract check[/] (what CI runs)
    """
    problems = drift(project_dir)
    for problem in problems:
        errors.print(problem, markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    print("dbt source yml matches the contract")

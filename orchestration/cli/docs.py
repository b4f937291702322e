"""`customer360 docs`: regenerate docs/data-dictionary.md from the dbt yml."""

from typing import Annotated

import typer

from orchestration.cli.common import fail
from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT

DATA_DICTIONARY = PROJECT_ROOT / "docs" / "data-dictionary.md"


def docs(
    check: Annotated[
        bool, typer.Option("--check", help="write nothing; exit 1 if the file is stale")
    ] = False,
) -> None:
    """Regenerate docs/data-dictionary.md from the dbt yml (models and sources).

    Example: [bold]customer360 docs --check[/] (what CI runs)
    """
    from python_models.data_dictionary import render_data_dictionary

    rendered = render_data_dictionary(DBT_PROJECT_DIR)
    if check:
        current = DATA_DICTIONARY.read_text() if DATA_DICTIONARY.exists() else ""
        if current != rendered:
            fail(f"{DATA_DICTIONARY} is stale: run `customer360 docs`", code=1)
        print(f"{DATA_DICTIONARY} is up to date.")
        return
    DATA_DICTIONARY.write_text(rendered)
    print(f"wrote {DATA_DICTIONARY}")

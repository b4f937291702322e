"""Every SQL recipe in docs/cookbook.md runs against the sample warehouse and returns rows."""

import re
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

COOKBOOK = Path(__file__).resolve().parents[2] / "docs" / "cookbook.md"
RECIPES = re.findall(r"^## (.+?)\n```sql\n(.+?)```", COOKBOOK.read_text(), re.S | re.M)
MAY_BE_EMPTY = {"Who entered a segment since the previous run? (for the email tool)"}


def test_cookbook_has_recipes() -> None:
    assert len(RECIPES) >= 8


@pytest.mark.parametrize(("title", "sql"), RECIPES, ids=[t for t, _ in RECIPES])
def test_recipe_runs(sample_pipeline, title: str, sql: str) -> None:
    _, warehouse = sample_pipeline
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    if title not in MAY_BE_EMPTY:
        assert rows, f"recipe '{title}' returned no rows on the sample"

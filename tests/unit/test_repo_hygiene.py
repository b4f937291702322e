"""The repository stays as a newcomer expects: lint-clean code and current generated docs."""

import subprocess
import sys
from pathlib import Path

from orchestration.cli.docs import DATA_DICTIONARY as OUTPUT
from orchestration.cli.docs import render_current

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--quiet", str(ROOT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_data_dictionary_is_current() -> None:
    assert OUTPUT.read_text() == render_current(), (
        "docs/data-dictionary.md is stale: run `make docs`"
    )


def test_every_pii_column_in_marts_is_tagged() -> None:
    """Columns that obviously hold personal data carry the pii tag in the yml."""
    text = OUTPUT.read_text()
    personal = ("email", "phone", "given_name", "family_name", "birth_date", "street")
    untagged = [
        line
        for line in text.splitlines()
        if line.startswith("| `")
        and any(f"`{name}`" in line for name in personal)
        and "| yes |" not in line
    ]
    assert not untagged, "PII columns without the pii tag:\n" + "\n".join(untagged)


def test_every_mart_column_has_a_type_and_a_description() -> None:
    """The marts are what analysts read: each column says what it holds and its type."""
    marts = OUTPUT.read_text().split("\n## marts\n", 1)[1].split("\n## ", 1)[0]
    bare = [
        line
        for line in marts.splitlines()
        if line.startswith("| `")
        and ([c.strip() for c in line.split("|")][2] == "" or line.rstrip().endswith("|  |"))
    ]
    assert not bare, "mart columns without a type or description:\n" + "\n".join(bare)

"""`customer360 segments compile`: turn dbt_project/segments/segments.yml into dbt models.

`compile` validates the definitions and (re)writes the generated dbt files, deleting
generated files of segments that no longer exist. `--check` writes nothing and exits 1 when
the committed files are stale (CI and the tests use it).
"""

from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import errors
from orchestration.settings import DBT_PROJECT_DIR
from python_models.segments.compiler import (
    DEFINITIONS_PATH,
    GENERATED_MARK,
    RULES_DIR,
    UNION_MODEL_PATH,
    compile_segments,
    generated_files_are_stale,
)
from python_models.segments.definitions import SegmentDefinitionError, load_segment_definitions

app = typer.Typer(
    help="Rule segments: compile segments.yml into dbt models.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def read_generated_files(dbt_project_dir: Path) -> dict[str, str]:
    """Committed files that carry the generated mark, keyed by path relative to the project."""
    candidates = [
        *sorted((dbt_project_dir / RULES_DIR).glob("*")),
        dbt_project_dir / UNION_MODEL_PATH,
    ]
    generated = {}
    for path in candidates:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if GENERATED_MARK in text.split("\n", 1)[0]:
                generated[path.relative_to(dbt_project_dir).as_posix()] = text
    return generated


def run_compile(dbt_project_dir: Path, definitions_path: Path, check_only: bool) -> int:
    definitions = load_segment_definitions(
        definitions_path.read_text(encoding="utf-8"), source=str(definitions_path)
    )
    expected = compile_segments(definitions)
    existing = read_generated_files(dbt_project_dir)
    stale = generated_files_are_stale(expected, existing)
    if check_only:
        if stale:
            print("Generated segment files are stale; run `customer360 segments compile`:")
            print("\n".join(f"  {path}" for path in stale))
            return 1
        print(f"{len(definitions)} segment(s); generated files are up to date.")
        return 0
    for relative_path in stale:
        target = dbt_project_dir / relative_path
        if relative_path in expected:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(expected[relative_path], encoding="utf-8")
        else:
            target.unlink()
    print(f"{len(definitions)} segment(s) compiled; {len(stale)} file(s) written or removed.")
    return 0


@app.command("compile")
def compile_command(
    check: Annotated[
        bool, typer.Option("--check", help="write nothing; exit 1 if files are stale")
    ] = False,
    dbt_project_dir: Annotated[
        Path, typer.Option(help="the dbt project to write into")
    ] = DBT_PROJECT_DIR,
    definitions: Annotated[
        Path | None,
        typer.Option(help="segment definitions \\[default: <dbt project>/segments/segments.yml]"),
    ] = None,
) -> None:
    """Validate segments.yml and write its dbt models (one per segment, plus the union).

    Example: [bold]customer360 segments compile --check[/]
    """
    definitions_path = definitions or dbt_project_dir / DEFINITIONS_PATH
    try:
        status = run_compile(dbt_project_dir, definitions_path, check)
    except SegmentDefinitionError as error:
        errors.print(str(error), markup=False, soft_wrap=True)
        raise typer.Exit(2) from error
    raise typer.Exit(status)

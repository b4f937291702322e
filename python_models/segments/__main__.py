"""Command line: `python -m python_models.segments compile [--check]`.

`compile` validates `dbt_project/segments/segments.yml` and (re)writes the generated dbt files,
deleting generated files of segments that no longer exist. `--check` writes nothing and exits
1 when the committed files are stale (CI and the tests use it).
"""

import argparse
import sys
from pathlib import Path

from python_models.segments.compiler import (
    DEFINITIONS_PATH,
    GENERATED_MARK,
    RULES_DIR,
    UNION_MODEL_PATH,
    compile_segments,
    generated_files_are_stale,
)
from python_models.segments.definitions import SegmentDefinitionError, load_segment_definitions
from orchestration.settings import DBT_PROJECT_DIR


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
            print(
                "Generated segment files are stale; run `python -m python_models.segments compile`:"
            )
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m python_models.segments")
    commands = parser.add_subparsers(dest="command", required=True)
    compile_command = commands.add_parser("compile", help="validate segments.yml, write dbt models")
    compile_command.add_argument("--check", action="store_true", help="fail if files are stale")
    compile_command.add_argument("--dbt-project-dir", type=Path, default=DBT_PROJECT_DIR)
    compile_command.add_argument("--definitions", type=Path, default=None)
    arguments = parser.parse_args(argv)
    definitions_path = arguments.definitions or arguments.dbt_project_dir / DEFINITIONS_PATH
    try:
        return run_compile(arguments.dbt_project_dir, definitions_path, arguments.check)
    except SegmentDefinitionError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Render each source system's dbt source yml from the raw contract, and say where it drifted.

`dbt_project/models/staging/<source>/_<source>__sources.yml` declares the `raw` and
`quarantine` tables of one source system. It is generated, never edited by hand: the
columns, descriptions and `meta: {pii: true}` tags come from `python_models.contract`.
Each table's freshness is the contract's (`RawTable.freshness`): dbt's `loaded_at_query`
is the macro `newest_event_at` on the table's event-time column, and the project's
`collect_freshness_custom_sql` measures its age at the run's as_of, not the wall clock, so
`dbt source freshness` and the scorecard give the same verdict (macros/freshness.sql).
`render_source_yml` returns the text; `drift` compares it with what is committed and names
the table and column that differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from python_models.contract.spec import FUTURE_TOLERANCE_HOURS, METADATA, RawTable
from python_models.contract.tables import SOURCE_SYSTEMS, tables_for

SYNC_COMMAND = "customer360 contract sync"
_HEADER = f"# Generated from python_models/contract by `{SYNC_COMMAND}`; do not edit.\n"
_RAW_DESCRIPTION = "Landing files as loaded by the extract assets, every column VARCHAR as read."
_QUARANTINE_DESCRIPTION = (
    "Raw rows that failed a blocking quality rule (raw columns, `failed_rules`,\n"
    "      `quarantined_at`, `released_at`). Staging skips the unreleased ones."
)


def source_yml_path(project_dir: Path, source: str) -> Path:
    return project_dir / "models" / "staging" / source / f"_{source}__sources.yml"


def _quoted(text: str) -> str:
    """A yml scalar: plain when safe, else double-quoted."""
    if yaml.safe_load(f"k: {text}") == {"k": text} and not text.startswith(("`", "'", '"')):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _column_lines(table: RawTable) -> Iterable[str]:
    for column in table.columns:
        yield f"          - name: {column.name}"
        if column.description:
            yield f"            description: {_quoted(column.description)}"
        yield "            data_type: varchar"
        meta = [f"parsed_type: {column.type}"] if column.type != "varchar" else []
        if column.pii:
            meta.insert(0, "pii: true")
        if meta:
            yield "            config:"
            yield f"              meta: {{{', '.join(meta)}}}"
    for extra in METADATA:
        yield f"          - name: {extra.name}"
        yield f"            description: {_quoted(extra.description)}"
        yield f"            data_type: {extra.sql_type.lower()}"


def _freshness_lines(table: RawTable) -> Iterable[str]:
    freshness = table.freshness
    if freshness is None:
        return
    query = (
        f"{{{{ newest_event_at('{freshness.event_time_column}', "
        f"future_tolerance_hours={FUTURE_TOLERANCE_HOURS}) }}}}"
    )
    yield "        config:"
    yield "          freshness:"
    yield f"            warn_after: {{count: {freshness.warn_after_hours}, period: hour}}"
    yield f"            error_after: {{count: {freshness.error_after_hours}, period: hour}}"
    yield f'          loaded_at_query: "{query}"'


def render_source_yml(source: str) -> str:
    """The dbt source yml of one source system, as committed."""
    tables = tables_for(source)
    lines = [
        _HEADER.rstrip("\n"),
        "version: 2",
        "",
        "sources:",
        "  - name: raw",
        "    schema: raw",
        f"    description: {_RAW_DESCRIPTION}",
        "    tables:",
    ]
    for table in tables:
        lines += [
            f"      - name: {table.table}",
            f"        description: {_quoted(table.description)}",
            *(
                _freshness_lines(table)
                if table.freshness_checked
                else ["        config: {freshness: null}"]
            ),
            "        columns:",
            *_column_lines(table),
        ]
    lines += [
        "",
        "  - name: quarantine",
        "    schema: quarantine",
        "    description: >",
        f"      {_QUARANTINE_DESCRIPTION}",
        "    tables:",
        *(f"      - name: {t.table}" for t in tables),
    ]
    return "\n".join(lines) + "\n"


def _tables_by_name(text: str) -> dict[tuple[str, str], dict]:
    document = yaml.safe_load(text) or {}
    return {
        (source.get("name", ""), table.get("name", "")): table
        for source in document.get("sources") or []
        for table in source.get("tables") or []
    }


def _describe_difference(path: Path, committed: str, wanted: str) -> str:
    """The first table or column where the committed yml and the contract disagree."""
    have, want = _tables_by_name(committed), _tables_by_name(wanted)
    for key in sorted(set(have) | set(want)):
        if key not in have:
            return f"{path}: {key[0]}.{key[1]} is in the contract but not in the yml"
        if key not in want:
            return f"{path}: {key[0]}.{key[1]} is in the yml but not in the contract"
        have_columns = {c["name"]: c for c in have[key].get("columns") or []}
        want_columns = {c["name"]: c for c in want[key].get("columns") or []}
        for name in [*want_columns, *(c for c in have_columns if c not in want_columns)]:
            if have_columns.get(name) != want_columns.get(name):
                return (
                    f"{path}: {key[0]}.{key[1]} column {name!r} differs "
                    f"(yml: {have_columns.get(name)}, contract: {want_columns.get(name)})"
                )
        if list(have_columns) != list(want_columns):
            return f"{path}: {key[0]}.{key[1]} columns are out of contract order"
        if have[key] != want[key]:
            return f"{path}: {key[0]}.{key[1]} differs from the contract (description?)"
    return f"{path}: differs from the contract in layout or comments"


def drift(project_dir: Path, sources: Iterable[str] = SOURCE_SYSTEMS) -> list[str]:
    """One message per source yml that does not match the contract (empty: all in sync)."""
    problems = []
    for source in sources:
        path = source_yml_path(project_dir, source)
        wanted = render_source_yml(source)
        committed = path.read_text(encoding="utf-8") if path.exists() else None
        if committed is None:
            problems.append(f"{path}: missing; run `{SYNC_COMMAND}`")
        elif committed != wanted:
            reason = _describe_difference(path, committed, wanted)
            problems.append(f"{reason}; run `{SYNC_COMMAND}` to regenerate it")
    return problems


def sync(project_dir: Path, sources: Iterable[str] = SOURCE_SYSTEMS) -> list[Path]:
    """Write every source yml that differs from the contract; returns the files written."""
    written = []
    for source in sources:
        path = source_yml_path(project_dir, source)
        wanted = render_source_yml(source)
        if not path.exists() or path.read_text(encoding="utf-8") != wanted:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".yml.tmp")
            temporary.write_text(wanted, encoding="utf-8")
            temporary.replace(path)  # atomic: dbt never reads half a file
            written.append(path)
    return written

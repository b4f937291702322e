"""Render docs/data-dictionary.md from the dbt project's yml and the raw contract.

Every model and source table documented in `dbt_project/models/**/*.yml` becomes a section
with its description and a column table (type where declared, PII flag, description). Raw
tables come from the raw contract (`python_models.contract`), which also generates their dbt
source yml: their section adds the landing glob, natural key, required columns, rule counts
and the type each VARCHAR value must parse as.
`customer360 docs` writes it (`--check`: exit 1 if the file is stale).
"""

from collections.abc import Iterator
from pathlib import Path

import yaml

from python_models.contract import CONTRACT, RawTable

LAYER_ORDER = {"sources": 0, "staging": 1, "intermediate": 2, "marts": 3}


def is_pii(column: dict) -> bool:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    tags = [*(column.get("tags") or []), *((column.get("config") or {}).get("tags") or [])]
    return bool(meta.get("pii")) or "pii" in tags


def one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def column_rows(columns: list[dict]) -> Iterator[str]:
    yield "| column | type | PII | description |"
    yield "|---|---|---|---|"
    for column in columns:
        yield (
            f"| `{column['name']}` | {column_type(column)} | "
            f"{'yes' if is_pii(column) else ''} | {one_line(column.get('description'))} |"
        )


def raw_table_lines(table: RawTable) -> list[str]:
    """The contract's facts about one raw table, above its column table."""
    blocking = sum(r.severity == "blocking" for r in table.rules)
    return [
        f"Landing files `{table.glob}` ({table.format}); natural key "
        f"`{', '.join(table.natural_key)}`; a file must carry `{', '.join(table.required)}`; "
        f"{blocking} blocking and {len(table.rules) - blocking} warning quality rules "
        f"(`python -m python_models.quality.rules`).",
        "",
    ]


def column_type(column: dict) -> str:
    """`data_type`, with the contract's parsed type of a raw VARCHAR column when it has one."""
    parsed = ((column.get("config") or {}).get("meta") or {}).get("parsed_type")
    declared = column.get("data_type", "")
    return f"{declared} (parses as {parsed})" if parsed else declared


def documented_tables(project_dir: Path) -> Iterator[tuple[str, str, str, list[dict]]]:
    """(layer, table name, description, columns) for every model and source in the yml."""
    for path in sorted((project_dir / "models").rglob("*.yml")):
        layer = path.relative_to(project_dir / "models").parts[0]
        document = yaml.safe_load(path.read_text()) or {}
        for model in document.get("models") or []:
            yield layer, model["name"], model.get("description", ""), model.get("columns") or []
        for source in document.get("sources") or []:
            for table in source.get("tables") or []:
                name = f"{source.get('schema', source['name'])}.{table['name']}"
                yield "sources", name, table.get("description", ""), table.get("columns") or []


def render_data_dictionary(project_dir: Path) -> str:
    """The data dictionary of the dbt project at `project_dir`, as Markdown."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from the dbt yml by `customer360 docs`; "
        "edit the yml, not this file. PII columns are tagged `pii` in the yml.",
        "",
    ]
    seen: set[str] = set()
    tables = sorted(documented_tables(project_dir), key=lambda t: (LAYER_ORDER.get(t[0], 9), t[1]))
    current_layer = None
    for layer, name, description, columns in tables:
        if name in seen:
            continue
        seen.add(name)
        if layer != current_layer:
            lines += [f"## {layer}", ""]
            current_layer = layer
        lines += [f"### `{name}`", "", one_line(description) or "_(no description)_", ""]
        if name.startswith("raw.") and name[4:] in CONTRACT:
            lines += raw_table_lines(CONTRACT[name[4:]])
        if columns:
            lines += [*column_rows(columns), ""]
    return "\n".join(lines).rstrip() + "\n"

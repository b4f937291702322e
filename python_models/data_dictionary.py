"""Render docs/data-dictionary.md from the dbt project's yml and the raw contract.

Every model and source table documented in `dbt_project/models/**/*.yml` becomes a section
with its description and a column table (type where declared, PII flag, description). Raw
tables come from the raw contract (`python_models.contract`), which also generates their dbt
source yml: their section adds the landing glob, natural key, required columns, rule counts
and the type each VARCHAR value must parse as.

Column types come from dbt's catalog (`dbt docs generate` on a built warehouse), so every
table shows the type it really has and every column it really has, documented or not. The
catalog's columns are kept in `docs/catalog-columns.json` (refreshed by
`customer360 docs --catalog`), so the dictionary renders without a warehouse and a test can
tell when it is stale. `customer360 docs` writes it (`--check`: exit 1 if it is stale).
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from python_models.contract import CONTRACT, RawTable

LAYER_ORDER = {"sources": 0, "staging": 1, "intermediate": 2, "marts": 3}

#: `schema.table` -> [(column, type)] in the table's column order
CatalogColumns = Mapping[str, list[tuple[str, str]]]


def catalog_columns(catalog: Mapping) -> dict[str, list[tuple[str, str]]]:
    """`schema.table` -> [(column, type)] of every model, seed and source in `catalog.json`."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for kind in ("nodes", "sources"):
        for entry in (catalog.get(kind) or {}).values():
            metadata = entry["metadata"]
            columns = sorted(entry["columns"].values(), key=lambda c: c["index"])
            name = f"{metadata['schema']}.{metadata['name']}".lower()
            tables[name] = [(c["name"], c["type"].lower()) for c in columns]
    return dict(sorted(tables.items()))


def _by_dictionary_name(catalog: CatalogColumns) -> dict[str, list[tuple[str, str]]]:
    """Sources are listed as schema.table, models by their (project-unique) name."""
    lookup: dict[str, list[tuple[str, str]]] = dict(catalog)
    for name, columns in catalog.items():
        lookup.setdefault(name.split(".", 1)[1], columns)
    return lookup


def read_catalog_columns(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The committed snapshot (`docs/catalog-columns.json`); empty when there is none."""
    if not path.exists():
        return {}
    return {name: [tuple(c) for c in cols] for name, cols in json.loads(path.read_text()).items()}


def write_catalog_columns(path: Path, columns: CatalogColumns) -> None:
    text = json.dumps({n: [list(c) for c in cols] for n, cols in columns.items()}, indent=1)
    path.write_text(text + "\n")


def with_catalog(columns: list[dict], catalog: list[tuple[str, str]] | None) -> list[dict]:
    """The yml's columns with the catalog's types, plus the columns only the catalog knows."""
    if not catalog:
        return columns
    types = {name.lower(): data_type for name, data_type in catalog}
    documented = {c["name"].lower() for c in columns}
    merged = [
        {**c, "data_type": types.get(c["name"].lower(), c.get("data_type", ""))} for c in columns
    ]
    merged += [
        {"name": name, "data_type": data_type}
        for name, data_type in catalog
        if name.lower() not in documented
    ]
    return merged


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


def with_contract_columns(columns: list[dict], table: RawTable) -> list[dict]:
    """A quarantine table holds raw rows: its file columns keep the contract's PII flag and
    description (the catalog knows their names and types only)."""
    contract = {c.name: c for c in table.columns}
    enriched = []
    for column in columns:
        declared = contract.get(column["name"])
        if declared is not None and not column.get("description"):
            column = {**column, "description": declared.description}
            if declared.pii:
                column["meta"] = {"pii": True}
        enriched.append(column)
    return enriched


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


def render_data_dictionary(project_dir: Path, catalog: CatalogColumns | None = None) -> str:
    """The data dictionary of the dbt project at `project_dir`, as Markdown.

    `catalog` (from `catalog_columns`) supplies the real column types and the columns the yml
    leaves out; without it only the yml's declared types show.
    """
    catalog = _by_dictionary_name(catalog or {})
    lines = [
        "# Data dictionary",
        "",
        "Generated from the dbt yml and dbt's catalog by `customer360 docs`; "
        "edit the yml, not this file. Types are the built tables' (dbt catalog); "
        "PII columns are tagged `pii` in the yml.",
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
        columns = with_catalog(columns, catalog.get(name))
        if name.startswith("quarantine.") and name.split(".", 1)[1] in CONTRACT:
            columns = with_contract_columns(columns, CONTRACT[name.split(".", 1)[1]])
        if columns:
            lines += [*column_rows(columns), ""]
    return "\n".join(lines).rstrip() + "\n"

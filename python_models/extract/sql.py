"""Pure builders for the extract's SQL and the decisions taken from a file's header.

Nothing here touches a file or a connection: each function takes raw-contract entries, header
names or paths and returns SQL text or a plan, so the unit tests can check them directly and
the loader stays a short sequence of `execute` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from python_models.contract import METADATA_COLUMNS, QUARANTINE_COLUMNS, RawTable
from python_models.contract.spec import is_compressed

RAW_SCHEMA = "raw"
QUARANTINE_SCHEMA = "quarantine"
AUDIT_SCHEMA = "audit"

#: the rule name a row gets when the reader could not split it into columns.
UNPARSEABLE_ROW_RULE = "unparseable_row"
#: `<column>_json_type`: an NDJSON line whose key or required field is an array, object or
#: boolean (`"event_id": [1, 2]`); raw holds text, so the line is quarantined whole, here.
JSON_TYPE_RULE_SUFFIX = "_json_type"
SCALAR_JSON_TYPES = ("VARCHAR", "BIGINT", "UBIGINT", "DOUBLE", "NULL")

LOAD_AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR"),
    ("source", "VARCHAR"),
    ("raw_table", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("checksum", "VARCHAR"),
    ("file_bytes", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_rejected", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("extra_columns", "VARCHAR[]"),
    ("rows_blocked", "BIGINT"),
    ("missing_columns", "VARCHAR[]"),
    ("seconds", "DOUBLE"),
    ("loaded_at", "TIMESTAMP"),
    ("run_id", "VARCHAR"),
    ("status", "VARCHAR"),
    # `checksum` is of the decompressed content (what "the same file" means); this is of the
    # bytes on disk. Loads made before content checksums existed hold the file's in both.
    ("file_checksum", "VARCHAR"),
    # live sources (PostgreSQL, REST API): the incremental cursor around the extract, the
    # deletes it saw, and what it noticed about the source (new columns, type changes, faults)
    ("cursor_before", "VARCHAR"),
    ("cursor_after", "VARCHAR"),
    ("rows_deleted", "BIGINT"),
    ("notes", "VARCHAR[]"),
)
REJECTED_FILES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("raw_table", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("checksum", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("rejected_at", "TIMESTAMP"),
    ("run_id", "VARCHAR"),
    ("file_checksum", "VARCHAR"),
)

# A byte that never appears unescaped in valid JSON: reading NDJSON "as CSV" with it as the
# delimiter yields one line per row, so a broken line can be kept whole instead of failing the
# file (read_json can only fail or silently skip it).
NDJSON_LINE_DELIMITER = "\\x1f"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def raw_columns(table: RawTable) -> list[tuple[str, str]]:
    """(name, type) of `raw.<table>`: the contract columns as VARCHAR, then the metadata."""
    return [(c, "VARCHAR") for c in table.column_names] + list(METADATA_COLUMNS)


def quarantine_columns(table: RawTable) -> list[tuple[str, str]]:
    return raw_columns(table) + list(QUARANTINE_COLUMNS)


def create_table_sql(qualified_name: str, columns: Sequence[tuple[str, str]]) -> str:
    body = ", ".join(f"{quote_ident(n)} {t}" for n, t in columns)
    return f"create table if not exists {qualified_name} ({body})"


def add_missing_columns_sql(
    qualified_name: str, wanted: Sequence[tuple[str, str]], existing: Sequence[str]
) -> list[str]:
    """`alter table … add column` for each wanted column the table lacks (schema evolution)."""
    have = set(existing)
    return [
        f"alter table {qualified_name} add column {quote_ident(n)} {t}"
        for n, t in wanted
        if n not in have
    ]


@dataclass(frozen=True)
class ColumnPlan:
    """How a file's header maps onto its raw table.

    `sources` maps each contract column to the header name it is read from (None: absent, so
    NULL). `extra` are header names the contract does not know: they go to `_extra`.
    """

    sources: dict[str, str | None]
    extra: tuple[str, ...]
    missing_required: tuple[str, ...]
    missing_optional: tuple[str, ...]


def _normalise(name: str) -> str:
    return name.strip().lower()


def plan_columns(header: Sequence[str], table: RawTable) -> ColumnPlan:
    """Match header names to contract columns (trimmed, case-insensitive; order is free)."""
    by_name: dict[str, str] = {}
    for name in header:
        by_name.setdefault(_normalise(name), name)
    sources = {c: by_name.get(c) for c in table.column_names}
    used = {v for v in sources.values() if v is not None}
    return ColumnPlan(
        sources=sources,
        extra=tuple(n for n in header if n not in used),
        missing_required=tuple(c for c in table.required if sources[c] is None),
        missing_optional=tuple(c for c in table.optional if sources[c] is None),
    )


def explain_missing_columns(header: Sequence[str], table: RawTable, plan: ColumnPlan) -> str:
    """A human reason for rejecting a file whose header lacks required columns."""
    missing = ", ".join(plan.missing_required)
    found = {_normalise(h) for h in header}
    if not found & set(table.column_names):
        if len(header) == 1:
            for delimiter, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
                if delimiter in header[0]:
                    return (
                        f"wrong delimiter: the header is {label}-separated, expected ','; "
                        f"missing required column(s) {missing}"
                    )
        first_line = ",".join(header)
        return (
            f"missing header row: the first line ({first_line[:80]!r}) names none of the "
            f"expected columns ({', '.join(table.column_names)})"
        )
    return f"missing required column(s): {missing} (header has: {', '.join(header)})"


def _compression(path: str) -> str:
    # Named, not left to DuckDB's guess from the extension, which misses `.GZ` and `.gzip`.
    return "gzip" if is_compressed(path) else "none"


def csv_reader_sql(path: str, rejects: tuple[str, str] | None = None) -> str:
    """`read_csv(…)` of one landing CSV: header row, ',' and '"', UTF-8, every column VARCHAR.

    The dialect is fixed by the contract rather than sniffed, so a ';' file is recognised as
    wrong instead of silently read. With `rejects=(table, scan)` rows that do not split into
    the header's columns are kept in those temporary tables instead of failing the read.
    """
    options = [
        quote_literal(path),
        "header = true",
        "delim = ','",
        "quote = '\"'",
        "escape = '\"'",
        "all_varchar = true",
        "strict_mode = true",
        "null_padding = false",
        "encoding = 'utf-8'",
        f"compression = '{_compression(path)}'",
        # no comment lines: a value starting with '#' is data, not something to drop silently
        "comment = ''",
    ]
    if rejects is not None:
        options += [
            "store_rejects = true",
            f"rejects_table = {quote_literal(rejects[0])}",
            f"rejects_scan = {quote_literal(rejects[1])}",
            "rejects_limit = 0",
        ]
    return f"read_csv({', '.join(options)})"


def ndjson_lines_reader_sql(path: str, rejects: tuple[str, str]) -> str:
    """Each line of an NDJSON file as one VARCHAR `line` (JSON parsing happens afterwards)."""
    return (
        f"read_csv({quote_literal(path)}, header = false, columns = {{'line': 'VARCHAR'}}, "
        f"delim = '{NDJSON_LINE_DELIMITER}', quote = '', escape = '', strict_mode = true, "
        f"null_padding = false, encoding = 'utf-8', compression = '{_compression(path)}', "
        f"comment = '', store_rejects = true, "
        f"rejects_table = {quote_literal(rejects[0])}, "
        f"rejects_scan = {quote_literal(rejects[1])}, rejects_limit = 0)"
    )


def _metadata_select(row_number_expr: str, extra_expr: str) -> list[str]:
    # $load_id, $source_file, $loaded_at are bound by the loader as named parameters.
    return [
        "$load_id as _load_id",
        "$source_file as _source_file",
        f"{row_number_expr} as _row_number",
        "$loaded_at::timestamp as _loaded_at",
        f"{extra_expr} as _extra",
    ]


#: the column a staged CSV file carries its ordinal among the parsed rows in.
CSV_ORDINAL_COLUMN = "_c360_ordinal"


def csv_stage_sql(stage_table: str, reader_sql: str) -> str:
    """Stage a CSV file's parsed rows with their ordinal among them (one read of the file).

    Staging first means the rejected rows are known before the INSERT, so the INSERT writes
    every `_row_number` right once instead of updating the loaded rows afterwards.
    """
    return (
        f"create or replace temp table {quote_ident(stage_table)} as "
        f"select *, row_number() over () as {quote_ident(CSV_ORDINAL_COLUMN)} from {reader_sql}"
    )


def row_number_shifts_sql(rejected_rows: str) -> str:
    """`(parsed_before, shift)`: a parsed row with ordinal i moves down by the `shift` of the
    greatest `parsed_before` below i (0 when there is none).

    The k-th rejected row (by row number r_k) has r_k - k parsed rows before it, so a parsed
    row with ordinal i sits after every rejected row with r_k - k < i; `parsed_before` never
    decreases with k, so that count is the largest k with r_k - k < i.
    """
    return (
        f"select parsed_before, max(k) as shift from ("
        f"select row_number - row_number() over (order by row_number) as parsed_before, "
        f"row_number() over (order by row_number) as k from {quote_ident(rejected_rows)}) "
        f"group by parsed_before"
    )


def csv_insert_sql(
    table: RawTable, plan: ColumnPlan, reader_sql: str, shifts: str | None = None
) -> str:
    """One set-based INSERT of a CSV file into `raw.<table>`.

    Without `shifts`, `reader_sql` is read directly and `_row_number` is the ordinal among the
    rows that parsed (`shift_row_numbers_sql` corrects it afterwards when some rows were
    rejected). With `shifts` (a table shaped like `row_number_shifts_sql`), `reader_sql` is a
    relation staged by `csv_stage_sql` and `_row_number` is the row's number in the file.
    """
    prefix = "s." if shifts is not None else ""
    columns = [
        f"{prefix + quote_ident(src) if src else 'null::varchar'} as {quote_ident(col)}"
        for col, src in plan.sources.items()
    ]
    if plan.extra:
        pairs = ", ".join(f"{quote_literal(n)}, {prefix}{quote_ident(n)}" for n in plan.extra)
        extra = f"json_object({pairs})"
    else:
        extra = "null::json"
    if shifts is None:
        row_number, source = "row_number() over ()", reader_sql
    else:
        ordinal = f"s.{quote_ident(CSV_ORDINAL_COLUMN)}"
        row_number = f"{ordinal} + coalesce(r.shift, 0)"
        source = (
            f"{reader_sql} as s asof left join {quote_ident(shifts)} as r "
            f"on {ordinal} > r.parsed_before"
        )
    select = ", ".join(columns + _metadata_select(row_number, extra))
    return (
        f"insert into {RAW_SCHEMA}.{quote_ident(table.table)} by name select {select} from {source}"
    )


def ndjson_stage_sql(stage_table: str, reader_sql: str) -> str:
    """Stage an NDJSON file's lines with their ordinal, so the file is decompressed once."""
    return (
        f"create or replace temp table {quote_ident(stage_table)} as "
        f"select line, row_number() over () as rn from {reader_sql}"
    )


def json_object_condition(line: str = "line") -> str:
    # One parse: json_type raises on bad JSON, try() turns that into NULL.
    return f"coalesce(try(json_type({line})) = 'OBJECT', false)"


def typed_key_columns(table: RawTable) -> tuple[str, ...]:
    """The columns whose JSON value must be a string or a number: the key and required ones."""
    return tuple(dict.fromkeys((*table.natural_key, *table.required)))


def _json_type(column: str, line: str = "line") -> str:
    path = quote_literal('$."' + column + '"')
    return f"try(json_type({line}, {path}))"


def bad_json_type_condition(table: RawTable, line: str = "line") -> str:
    """True for a JSON object line whose key or required field is not a string or number."""
    scalar = ", ".join(quote_literal(t) for t in SCALAR_JSON_TYPES)
    checks = [
        f"coalesce({_json_type(c, line)} not in ({scalar}), false)"
        for c in typed_key_columns(table)
    ]
    return f"({' or '.join(checks) or 'false'})"


def ndjson_bad_type_lines_sql(table: RawTable, stage_table: str) -> str:
    """`(row_number, raw_line, errors, rule)` of the object lines failing `<col>_json_type`;
    the error names the type found, e.g. "event_id is a JSON ARRAY, not a string or number"."""
    scalar = ", ".join(quote_literal(t) for t in SCALAR_JSON_TYPES)
    dynamic_path = "'$.\"' || bad || '\"'"
    first_bad = " ".join(
        f"when coalesce({_json_type(c)} not in ({scalar}), false) then {quote_literal(c)}"
        for c in typed_key_columns(table)
    )
    return (
        f"select rn as row_number, line as raw_line, "
        f"bad || ' is a JSON ' || try(json_type(line, {dynamic_path})) "
        f"|| ', not a string or number' as errors, bad || {quote_literal(JSON_TYPE_RULE_SUFFIX)} "
        f"as rule from (select rn, line, case {first_bad} end as bad "
        f"from {quote_ident(stage_table)} where {json_object_condition()} "
        f"and {bad_json_type_condition(table)})"
    )


def ndjson_insert_sql(table: RawTable, stage_table: str) -> str:
    """INSERT the lines that are JSON objects; unknown keys go to `_extra` with their values.

    Lines whose key or required field is an array, object or boolean are left out (see
    `ndjson_bad_type_lines_sql`), since raw's text would hide the wrong type."""
    paths = ", ".join(quote_literal(f'$."{c}"') for c in table.column_names)
    known = ", ".join(quote_literal(c) for c in table.column_names)
    columns = [f"v[{i}] as {quote_ident(c)}" for i, c in enumerate(table.column_names, start=1)]
    extra = (
        "case when len(unknown_keys) > 0 then to_json(map_from_entries(list_transform("
        "unknown_keys, lambda k: struct_pack(k := k, "
        "v := json_extract(line, '$.\"' || replace(k, '\"', '\\\"') || '\"'))))) end"
    )
    select = ", ".join(columns + _metadata_select("rn", extra))
    return (
        f"insert into {RAW_SCHEMA}.{quote_ident(table.table)} by name "
        f"select {select} from ("
        f"select json_extract_string(line, [{paths}]) as v, "
        f"list_filter(json_keys(line), lambda k: not list_contains([{known}], k)) as unknown_keys, "
        f"line, rn "
        f"from {quote_ident(stage_table)} where {json_object_condition()} "
        f"and not {bad_json_type_condition(table)})"
    )


def rejected_rows_sql(rejects_table: str, header_lines: int) -> str:
    """One row per rejected data row: `(row_number, raw_line, errors)` from DuckDB's rejects.

    DuckDB's `line` counts rows from 1, header included (a quoted value spanning lines counts
    once); a row can be reported once per failing column, hence the grouping.
    """
    return (
        f"select line - {int(header_lines)} as row_number, any_value(csv_line) as raw_line, "
        f"string_agg(distinct error_type || ': ' || error_message, '; ') as errors, "
        f"bool_or(error_type = 'INVALID ENCODING') as bad_encoding, "
        f"{quote_literal(UNPARSEABLE_ROW_RULE)} as rule "
        f"from {quote_ident(rejects_table)} group by line"
    )


def shift_row_numbers_sql(
    target: str, rejected_rows: str, where: str = "true", column: str = "_row_number"
) -> str:
    """Turn ordinals among parsed rows into row numbers in the file, given the rejected ones.

    The k-th rejected row (by row number r_k) has r_k - k parsed rows before it, so a parsed
    row with ordinal i sits after every rejected row with r_k - k < i.
    """
    return (
        f"update {target} as t set {column} = t.{column} + ("
        f"select count(*) from (select row_number - row_number() over (order by row_number) "
        f"as parsed_before from {quote_ident(rejected_rows)}) as r "
        f"where r.parsed_before < t.{column}) where {where}"
    )


def quarantine_unparseable_sql(table: RawTable, select_rows: str) -> str:
    """Copy rows no reader could parse into `quarantine.<table>`, keeping the raw line.

    `select_rows` yields `(row_number, raw_line, errors, rule)`; the raw line and reader error
    are kept in `_extra` (`{"raw_line": …, "parse_error": …}`) so nothing is lost, and `rule`
    (`unparseable_row`, `<column>_json_type`) is the row's failed rule.
    """
    return (
        f"insert into {QUARANTINE_SCHEMA}.{quote_ident(table.table)} by name "
        f"select $load_id as _load_id, $source_file as _source_file, "
        f"row_number as _row_number, $loaded_at::timestamp as _loaded_at, "
        f"json_object('raw_line', raw_line, 'parse_error', errors) as _extra, "
        f"[coalesce(rule, {quote_literal(UNPARSEABLE_ROW_RULE)})] as failed_rules, "
        f"$loaded_at::timestamp as quarantined_at, null::timestamp as released_at "
        f"from ({select_rows})"
    )


def ndjson_broken_lines_sql(stage_table: str) -> str:
    """Staged lines that are not JSON objects, shaped like `rejected_rows_sql`."""
    return (
        f"select rn as row_number, line as raw_line, "
        f"case when json_valid(line) then 'not a JSON object' else 'invalid JSON' end "
        f"as errors, {quote_literal(UNPARSEABLE_ROW_RULE)} as rule "
        f"from {quote_ident(stage_table)} where not {json_object_condition()}"
    )


def parquet_insert_sql(table: RawTable, plan: ColumnPlan, path: str) -> str:
    """One INSERT of a Parquet file, every column cast to VARCHAR as the contract wants."""
    columns = [
        f"{f'cast({quote_ident(src)} as varchar)' if src else 'null::varchar'} "
        f"as {quote_ident(col)}"
        for col, src in plan.sources.items()
    ]
    if plan.extra:
        pairs = ", ".join(f"{quote_literal(n)}, {quote_ident(n)}" for n in plan.extra)
        extra = f"json_object({pairs})"
    else:
        extra = "null::json"
    select = ", ".join(columns + _metadata_select("file_row_number + 1", extra))
    return (
        f"insert into {RAW_SCHEMA}.{quote_ident(table.table)} by name select {select} "
        f"from read_parquet({quote_literal(path)}, file_row_number = true)"
    )

"""Write chunk tables to the landing layout (CSV, gzipped NDJSON) and the truth folder.

CSV goes through DuckDB's COPY (fast, quotes only where needed, reproducible) from Arrow
tables registered on an in-memory connection; broken CSV lines are spliced into the written
file afterwards, because no CSV writer produces them on purpose. NDJSON is assembled
column-wise with Arrow string kernels (several times faster than a row-wise JSON writer)
and gzipped with a fixed header, so the bytes depend only on the data.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_models.sample_data.invalid import break_csv_lines
from python_models.sample_data.sources import format_timestamps


@dataclass(frozen=True)
class SourceFile:
    """Where a table lands: `<folder>/<stem>_<date>[_partNNNN].<ext>`."""

    table: str
    folder: str
    stem: str
    key: tuple[str, ...]
    ext: str = "csv"

    def path(self, root: Path, file_date: str, part: int | None) -> Path:
        suffix = "" if part is None else f"_part{part + 1:04d}"
        return root / self.folder / f"{self.stem}_{file_date}{suffix}.{self.ext}"


SOURCE_FILES: dict[str, SourceFile] = {
    s.table: s
    for s in (
        SourceFile("crm_contacts", "crm", "contacts", ("crm_id",)),
        SourceFile("web_events", "web", "events", ("event_id",), "ndjson.gz"),
        SourceFile("shop_orders", "shop", "orders", ("order_id",)),
        SourceFile("shop_order_lines", "shop", "order_lines", ("order_id", "line_number")),
        SourceFile("pos_transactions", "pos", "transactions", ("transaction_id", "line_number")),
        SourceFile("pos_loyalty_members", "pos", "loyalty_members", ("loyalty_id",)),
        SourceFile("support_tickets", "support", "tickets", ("ticket_id",)),
        SourceFile("consent_events", "consent", "consent_events", ("consent_event_id",)),
        SourceFile("catalog_products", "catalog", "products", ("product_id",)),
    )
}

WEB_EVENT_FIELDS = (
    "event_id", "event_name", "anonymous_id", "user_id", "session_id", "device", "channel",
    "utm_source", "utm_campaign", "occurred_at",
)  # fmt: skip
WEB_PROPERTY_FIELDS = (
    "product_id", "category", "price", "quantity", "scroll_depth", "dwell_seconds", "query",
    "cart_value", "order_id",
)  # fmt: skip


def _json_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """JSON literal per value (NULL stays NULL): quoted, escaped strings; plain numbers."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        # Escape the (small) dictionary once instead of every row.
        dictionary = _json_text(column.dictionary)
        return pc.take(dictionary, column.indices)
    if pa.types.is_string(column.type):
        escaped = pc.replace_substring(column, "\\", "\\\\")
        escaped = pc.replace_substring(escaped, '"', '\\"')
        return pc.binary_join_element_wise('"', escaped, '"', "")
    return column.cast(pa.string())


def ndjson_bytes(table: pa.Table) -> memoryview:
    """Render web events as newline-delimited JSON, built column-wise by Arrow kernels.

    Top-level fields are always present (null when empty); `properties` holds only the
    keys that have a value for that event.
    """
    occurred = format_timestamps(table.column("occurred_at_epoch").combine_chunks())
    parts: list[Any] = []
    for i, name in enumerate(WEB_EVENT_FIELDS):
        values = _json_text(occurred if name == "occurred_at" else table.column(name))
        parts.append(("{" if i == 0 else ",") + f'"{name}":')
        parts.append(pc.fill_null(values, "null"))
    # Each present key becomes ',"key":value'; absent keys become ''. Joining them and
    # dropping the first comma gives the object body. (Arrow's null_handling="skip" join
    # returned a short array here, so this avoids it.)
    fragments = [
        pc.fill_null(
            pc.binary_join_element_wise(f',"{key}":', _json_text(table.column(key)), ""), ""
        )
        for key in WEB_PROPERTY_FIELDS
    ]
    properties = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*fragments, ""), 1)
    parts += [',"properties":{', properties, "}}\n"]
    lines = pc.binary_join_element_wise(*parts, "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # The lines sit back to back in the array's data buffer: that buffer is the file.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, stop = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[start:stop]


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_csv(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    path: Path,
    broken_rows: list[int],
    rng: np.random.Generator,
) -> None:
    """CSV with header; `broken_rows` (0-based data rows) get a wrong field count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.register("chunk_table", table)
    try:
        con.execute(f"copy (select * from chunk_table) to {_quote(path)} (format csv, header)")
    finally:
        con.unregister("chunk_table")
    if broken_rows:
        path.write_bytes(break_csv_lines(path.read_bytes(), broken_rows, rng))


def write_web_events(table: pa.Table, path: Path, compresslevel: int) -> None:
    """Gzipped NDJSON in the contract's field order; reproducible (no name/time in header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ndjson_bytes(table)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0
        ) as gz,
    ):
        gz.write(data)


def append_csv(path: Path, frame, header: bool) -> None:
    """Append a pandas frame to a truth CSV (header only on the first write)."""
    frame.to_csv(path, mode="w" if header else "a", header=header, index=False, lineterminator="\n")

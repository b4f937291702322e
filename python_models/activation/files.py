"""Atomic files written by DuckDB: `COPY … TO` a temporary name, then rename.

A reader (an email tool's importer, a person) only ever sees a file under its final name
once it is complete: DuckDB writes `.<name>.tmp`, and `os.replace` renames it, which is
atomic on one filesystem. CSVs are UTF-8, RFC 4180 (CRLF line ends, a header row, fields
quoted when they hold a comma, quote or line break, quotes doubled). A destination with a
file-size limit gets parts, each checked against the limit after it is written.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

TMP_SUFFIX = ".tmp"
CSV_OPTIONS = "header true, delimiter ',', quote '\"', escape '\"', new_line e'\\r\\n'"


@dataclass(frozen=True)
class WrittenFile:
    """One complete file of an export run, as the manifest lists it."""

    name: str
    kind: str  # full | added | changed | removed | parquet
    rows: int
    bytes: int
    sha256: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temporary_name(final: Path) -> Path:
    return final.with_name(f".{final.name}{TMP_SUFFIX}")


def remove_temporary_files(folder: Path) -> list[str]:
    """Delete what a crashed run left half-written; return the names removed."""
    removed = []
    if folder.is_dir():
        for leftover in folder.glob(f".*{TMP_SUFFIX}"):
            leftover.unlink()
            removed.append(leftover.name)
    return removed


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _finish(tmp: Path, final: Path, kind: str, rows: int) -> WrittenFile:
    size = tmp.stat().st_size
    digest = sha256_of(tmp)
    os.replace(tmp, final)
    return WrittenFile(final.name, kind, rows, size, digest)


def copy_parquet(
    con: duckdb.DuckDBPyConnection, select_sql: str, final: Path, kind: str = "parquet"
) -> WrittenFile:
    tmp = temporary_name(final)
    rows = con.execute(
        f"copy ({select_sql}) to '{_sql_path(tmp)}' (format parquet, compression zstd)"
    ).fetchone()
    return _finish(tmp, final, kind, int(rows[0]) if rows else 0)


def copy_csv(
    con: duckdb.DuckDBPyConnection, select_sql: str, final: Path, kind: str
) -> WrittenFile:
    tmp = temporary_name(final)
    rows = con.execute(f"copy ({select_sql}) to '{_sql_path(tmp)}' ({CSV_OPTIONS})").fetchone()
    return _finish(tmp, final, kind, int(rows[0]) if rows else 0)


def csv_line_bytes_sql(columns: list[str]) -> str:
    """SQL for the bytes one row takes in the CSV: values, quoting, commas and CRLF."""
    parts = []
    for column in columns:
        value = f"coalesce(cast({column} as varchar), '')"
        parts.append(
            f"(strlen({value}) + case when regexp_matches({value}, '[\",\\r\\n]') "
            f"then 2 + strlen({value}) - strlen(replace({value}, '\"', '')) else 0 end)"
        )
    return " + ".join(parts) + f" + {len(columns) - 1} + 2"


def copy_csv_split(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    select_list: list[str],
    order_by: str,
    final: Path,
    kind: str,
    max_bytes: int | None,
) -> list[WrittenFile]:
    """Write `select_list` of `relation` as one CSV, or as parts under `max_bytes` each.

    Rows are assigned to parts in SQL by the running sum of their CSV line length, with a
    5 % margin; each written part is checked against the limit, so a file the tool would
    refuse is an error here rather than at import.
    """
    source = "_act_csv_source"
    con.execute(
        f"create or replace temp table {source} as "
        f"select {', '.join(select_list)}, {order_by} as _order from {relation}"
    )
    names = [row[0] for row in con.execute(f"describe {source}").fetchall() if row[0] != "_order"]
    columns = ['"' + name.replace('"', '""') + '"' for name in names]
    listing = ", ".join(columns)
    try:
        total = 0
        if max_bytes is not None:
            total = con.execute(
                f"select coalesce(sum({csv_line_bytes_sql(columns)}), 0) from {source}"
            ).fetchone()[0]
        header_bytes = len(",".join(names).encode("utf-8")) + 2
        if max_bytes is None or total + header_bytes <= max_bytes * 0.95:
            return [copy_csv(con, f"select {listing} from {source} order by _order", final, kind)]
        budget = int(max_bytes * 0.95) - header_bytes
        con.execute(f"""
            create or replace temp table _act_csv_parts as
            select *, cast(floor(sum({csv_line_bytes_sql(columns)}) over (
                order by _order rows between unbounded preceding and current row
            ) / {budget}) as integer) as _part
            from {source}
        """)
        parts = [
            row[0]
            for row in con.execute(
                "select distinct _part from _act_csv_parts order by 1"
            ).fetchall()
        ]
        written = []
        for number, part in enumerate(parts, start=1):
            target = final.with_name(f"{final.stem}_part{number:04d}{final.suffix}")
            info = copy_csv(
                con,
                f"select {listing} from _act_csv_parts where _part = {part} order by _order",
                target,
                kind,
            )
            if info.bytes > max_bytes:
                raise ValueError(
                    f"{target}: {info.bytes} bytes is over the destination's limit of {max_bytes}"
                )
            written.append(info)
        return written
    finally:
        con.execute(f"drop table if exists {source}")
        con.execute("drop table if exists _act_csv_parts")

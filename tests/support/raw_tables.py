"""Build small raw tables by hand, shaped exactly like the extract's (for tests and demos)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import duckdb
import pandas as pd

from python_models.contract import METADATA_COLUMNS, raw_table
from python_models.quality.sql import quote_ident


def create_raw_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """`raw.<table>` with the contract's VARCHAR file columns and the `_` metadata columns."""
    con.execute("create schema if not exists raw")
    columns = [(c, "VARCHAR") for c in raw_table(table).column_names] + list(METADATA_COLUMNS)
    body = ", ".join(f"{quote_ident(n)} {t}" for n, t in columns)
    con.execute(f"create table if not exists raw.{quote_ident(table)} ({body})")


def insert_raw_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Iterable[Mapping[str, object]],
    load_id: str = "load-1",
    loaded_at: datetime | str = "2026-11-01 00:00:00",
) -> int:
    """Append `rows` (dicts of file columns) as one load; numbers rows from 1. Returns count."""
    create_raw_table(con, table)
    columns = list(raw_table(table).column_names)
    records = []
    for number, row in enumerate(rows, start=1):
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"raw.{table} has no column(s) {sorted(unknown)}")
        values = [None if row.get(c) is None else str(row[c]) for c in columns]
        records.append([*values, load_id, f"{table}.csv", number, loaded_at])
    if records:
        frame = pd.DataFrame(records, columns=[*columns, "_load_id", "_source_file",
                                               "_row_number", "_loaded_at"])  # fmt: skip
        frame[columns] = frame[columns].astype("string")
        frame["_loaded_at"] = pd.to_datetime(frame["_loaded_at"])
        con.register("_new_raw_rows", frame)
        con.execute(f"insert into raw.{quote_ident(table)} by name select * from _new_raw_rows")
        con.unregister("_new_raw_rows")
    return len(records)

"""Publish a read-only snapshot of the warehouse for analysts, swapped in by atomic rename.

The pipeline's warehouse has one writer, and DuckDB lets no other process write while a reader
holds the file, so analysts never open it. After each successful run the pipeline copies the
schemas analysts read into a new file beside the published one, closes it, and renames it over
the published path. A reader that had the old snapshot open keeps reading it (the old inode
lives until it closes); the next connection sees the new run, complete. The pipeline never
waits for, or fails because of, a reader (docs/decisions/0011-analyst-snapshot-and-run-lock.md).

The snapshot is written in an older storage format (`ANALYST_STORAGE_VERSION`) so the DuckDB
CLI and drivers of the 1.5 line open it as well as this project's duckdb 2.0.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

#: what analysts read: the products, the identity graph, model outputs, quality and audit.
#: raw, quarantine and staging stay in the pipeline's warehouse (unvalidated, partly PII).
PUBLISHED_SCHEMAS: tuple[str, ...] = (
    "marts",
    "identity",
    "models",
    "dq",
    "audit",
    "exports",
    "reference",
)
#: DuckDB storage format of the snapshot: the 1.5.x CLI on PyPI reads it (measured: it refuses
#: the 2.0 default format, "version number 69, we can only read 64-68").
ANALYST_STORAGE_VERSION = "v1.5.0"
SNAPSHOT_ALIAS = "c360_snapshot"
SNAPSHOT_INFO_TABLE = "snapshot_info"


@dataclass(frozen=True)
class PublishResult:
    """What one publish wrote: where, how many tables and rows, how long, how big."""

    path: Path
    tables: int
    rows: int
    seconds: float
    bytes: int
    published_at: datetime
    run_id: str | None

    def describe(self) -> str:
        return (
            f"published {self.tables} tables ({self.rows:,} rows) to {self.path} "
            f"in {self.seconds:.1f}s ({self.bytes / 1e6:,.1f} MB)"
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def published_relations(
    con: duckdb.DuckDBPyConnection, schemas: Sequence[str] = PUBLISHED_SCHEMAS
) -> list[tuple[str, str]]:
    """(schema, name) of every table and view of the warehouse in `schemas`, in name order."""
    return [
        (schema, name)
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema in (select unnest(?)) "
            "order by 1, 2",
            [list(schemas)],
        ).fetchall()
    ]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    target: Path | str,
    *,
    schemas: Sequence[str] = PUBLISHED_SCHEMAS,
    run_id: str | None = None,
    as_of: str | None = None,
    storage_version: str = ANALYST_STORAGE_VERSION,
) -> PublishResult:
    """Copy `schemas` of the warehouse `con` is open on into `target`, atomically.

    Views are published as tables (what they showed at this run), so the snapshot needs
    nothing outside itself. A `main.snapshot_info` row says when, from which run and for which
    as-of the snapshot was taken. Until the final rename nothing at `target` changes; a crash
    leaves at most a `.<name>.tmp-<pid>` file, which the next publish removes.
    """
    started = time.perf_counter()
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        stale.unlink(missing_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    relations = published_relations(con, schemas)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        f"attach {_literal(str(temporary))} as {SNAPSHOT_ALIAS} "
        f"(storage_version {_literal(storage_version)})"
    )
    rows = 0
    try:
        source = _quote(con.execute("select current_database()").fetchall()[0][0])
        for schema in sorted({s for s, _ in relations}):
            con.execute(f"create schema {SNAPSHOT_ALIAS}.{_quote(schema)}")
        for schema, name in relations:
            qualified = f"{_quote(schema)}.{_quote(name)}"
            con.execute(
                f"create table {SNAPSHOT_ALIAS}.{qualified} as select * from {source}.{qualified}"
            )
            rows += con.execute(f"select count(*) from {SNAPSHOT_ALIAS}.{qualified}").fetchall()[0][
                0
            ]
        con.execute(
            f"create table {SNAPSHOT_ALIAS}.main.{SNAPSHOT_INFO_TABLE} as select "
            "?::timestamp as published_at, ?::varchar as run_id, ?::varchar as as_of, "
            "?::bigint as tables, ?::bigint as rows",
            [published_at, run_id, as_of, len(relations), rows],
        )
        con.execute(f"detach {SNAPSHOT_ALIAS}")
    except BaseException:
        con.execute(f"detach database if exists {SNAPSHOT_ALIAS}")
        temporary.unlink(missing_ok=True)
        raise
    _fsync(temporary)
    os.replace(temporary, target)  # readers of the old file keep it; new ones get this one
    _fsync(target.parent)
    return PublishResult(
        path=target,
        tables=len(relations),
        rows=rows,
        seconds=round(time.perf_counter() - started, 3),
        bytes=target.stat().st_size,
        published_at=published_at,
        run_id=run_id,
    )

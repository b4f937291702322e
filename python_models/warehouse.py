"""The one way to open the DuckDB warehouse: every connection gets the memory limit.

DuckDB otherwise takes 80 % of the machine and keeps what it takes as cache; with a limit
it spills large joins and sorts to disk instead. Callers pass the limit from the run's
settings (`orchestration.settings`); this module reads no environment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb


def connect(
    database: Path | str,
    *,
    memory_limit: str,
    read_only: bool = False,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open `database` (a file path, or ':memory:') with DuckDB's memory limit applied."""
    config: dict[str, str | int] = {"memory_limit": memory_limit}
    if threads is not None:
        config["threads"] = threads
    if str(database) != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(database), read_only=read_only, config=config)


MEMORY_LIMIT_PATTERN = re.compile(r"\d+(\.\d+)?\s*(B|[KMGT]i?B)", re.IGNORECASE)


def set_memory_limit(con: duckdb.DuckDBPyConnection, memory_limit: str) -> None:
    """Give `con`'s database `memory_limit` (e.g. `4GB`) from now on: its buffer cache and
    operators then spill beyond it. For a step that holds large Python data beside DuckDB,
    whose own limit bounds only DuckDB's buffers, not the process."""
    if not MEMORY_LIMIT_PATTERN.fullmatch(memory_limit.strip()):
        raise ValueError(
            f"DuckDB memory limit {memory_limit!r} is not a size such as 4GB or 512MiB: "
            "fix CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT"
        )
    con.execute(f"set memory_limit = '{memory_limit.strip()}'")


#: the DuckDB variable that holds a connection's "now" (the run's as_of): every quality rule
#: that judges time reads it (python_models.quality.sql), so rules, models and scores share
#: one clock. Unset, a rule falls back to the row's load time.
AS_OF_VARIABLE = "customer360_as_of"


def as_of_timestamp(as_of: str) -> str:
    """An ISO as-of (`2026-11-01`, `…T00:00:00Z`, with an offset) as naive UTC ISO text."""
    parsed = datetime.fromisoformat(as_of.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(sep=" ")


def set_as_of(con: duckdb.DuckDBPyConnection, as_of: str | None) -> None:
    """Make `as_of` this connection's "now" for the quality rules (None: leave unset)."""
    if as_of:
        con.execute(f"set variable {AS_OF_VARIABLE} = timestamp '{as_of_timestamp(as_of)}'")


def current_as_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The connection's as_of (see `set_as_of`), ISO text, or None."""
    value = con.execute(f"select getvariable('{AS_OF_VARIABLE}')::varchar").fetchall()[0][0]
    return value

"""The one way to open the DuckDB warehouse: every connection gets the memory limit.

DuckDB otherwise takes 80 % of the machine and keeps what it takes as cache; with a limit
it spills large joins and sorts to disk instead. Callers pass the limit from the run's
settings (`orchestration.settings`); this module reads no environment.
"""

from __future__ import annotations

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

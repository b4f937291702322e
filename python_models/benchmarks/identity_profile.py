"""Where identity resolution spends its time: wall and CPU seconds per SQL statement.

    python -m python_models.benchmarks.identity_profile --records-file FILE [--top 30]

Resolves the records of FILE (a Parquet written by `identity_warehouse --records-file`) in
a fresh temporary DuckDB file, as `identity_warehouse` does, through a connection wrapper
that times every `execute`: its wall seconds and the process CPU seconds (DuckDB's threads
included) it took. Prints the run's stage split, each stage's CPU in SQL and outside it
(Python: normalisers, Arrow hand-offs, connected components), and the costliest
statements with the function that ran them. The wrapper adds no work to the statements;
profile first, then change the statements at the top.
"""

from __future__ import annotations

import argparse
import inspect
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from orchestration.settings import get_settings
from python_models.benchmarks.identity_warehouse import load_records
from python_models.warehouse import connect


@dataclass(frozen=True)
class StatementTiming:
    """One `execute`: its wall and process CPU seconds, who ran it, and its SQL."""

    wall: float
    cpu: float
    caller: str
    sql: str


def _callers(depth: int = 3) -> str:
    """The innermost `python_models` functions on the stack, innermost first."""
    names = []
    frame = inspect.currentframe()
    while frame is not None and len(names) < depth:
        path = frame.f_code.co_filename
        if "python_models" in path and not path.endswith("identity_profile.py"):
            names.append(f"{Path(path).stem}.{frame.f_code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(names)


@dataclass
class TimedConnection:
    """A DuckDB connection whose `execute` is timed; everything else is passed through.

    DuckDB finds a Python table named in SQL among the caller's local variables; through
    a wrapper the caller is one frame further out, so Arrow tables and DataFrames the
    caller's SQL names are registered for the statement."""

    con: duckdb.DuckDBPyConnection
    timings: list[StatementTiming] = field(default_factory=list)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> TimedConnection:
        caller = inspect.currentframe().f_back  # type: ignore[union-attr]
        names = [
            name
            for name, value in (caller.f_locals.items() if caller else ())
            if isinstance(value, pa.Table | pd.DataFrame) and re.search(rf"\b{name}\b", sql)
        ]
        for name in names:
            self.con.register(name, caller.f_locals[name])  # type: ignore[union-attr]
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            self.con.execute(sql, *args, **kwargs)
        finally:
            self.timings.append(
                StatementTiming(
                    time.perf_counter() - wall,
                    time.process_time() - cpu,
                    _callers(),
                    " ".join(str(sql).split()),
                )
            )
            for name in names:
                self.con.unregister(name)
        return self

    def fetchall(self) -> list:
        return self.con.fetchall()

    def fetchone(self) -> Any:
        return self.con.fetchone()

    def fetchnumpy(self) -> dict:
        return self.con.fetchnumpy()

    def df(self) -> pd.DataFrame:
        return self.con.df()

    @property
    def description(self) -> Any:
        return self.con.description

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def stage_cpu(
    stage_marks: list[tuple[str, float, int]], timings: list[StatementTiming]
) -> list[tuple[str, float, float]]:
    """(stage, CPU seconds, of which in SQL) from marks (stage, process CPU at its end,
    statements run by then), in stage order."""
    rows, cpu_before, first = [], 0.0, 0
    for stage, cpu_at_end, last in stage_marks:
        in_sql = sum(t.cpu for t in timings[first:last])
        rows.append((stage, cpu_at_end - cpu_before, in_sql))
        cpu_before, first = cpu_at_end, last
    return rows


def profile(records_file: Path) -> tuple[Any, list[tuple[str, float, float]], TimedConnection]:
    """Resolve the records of `records_file` through a `TimedConnection`; returns the run
    report, the CPU per stage and the connection with its timings."""
    from python_models.identity import pipeline

    marks: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "profile.duckdb", memory_limit=get_settings().duckdb_memory_limit)
        load_records(con, records_file)
        timed = TimedConnection(con)
        lap = pipeline._Stopwatch.lap
        started = time.process_time()

        def marked_lap(watch: Any, stage: str) -> None:
            marks.append((stage, time.process_time() - started, len(timed.timings)))
            lap(watch, stage)

        pipeline._Stopwatch.lap = marked_lap  # type: ignore[method-assign]
        try:
            report = pipeline.resolve_identities(timed, "profile", "2026-11-01T00:00:00")  # type: ignore[arg-type]
        finally:
            pipeline._Stopwatch.lap = lap  # type: ignore[method-assign]
        con.close()
    return report, stage_cpu(marks, timed.timings), timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records-file", type=Path, required=True)
    parser.add_argument("--top", type=int, default=30, help="statements to print")
    args = parser.parse_args(argv)
    if not args.records_file.is_file():
        parser.error(f"records file {args.records_file} does not exist")
    report, stages, timed = profile(args.records_file)
    print(
        f"{report.records:,} records, {report.candidate_pairs:,} candidate pairs: "
        f"{report.seconds:.1f} s, {report.cpu_seconds:.1f} CPU s"
    )
    print(f"{'stage':22} {'wall s':>7} {'CPU s':>7} {'in SQL':>7} {'other':>7}")
    for stage, cpu, in_sql in stages:
        wall = report.stage_seconds.get(stage, 0.0)
        print(f"{stage:22} {wall:7.2f} {cpu:7.2f} {in_sql:7.2f} {cpu - in_sql:7.2f}")
    print(f"\ncostliest {args.top} statements (CPU s, wall s, caller, SQL):")
    for t in sorted(timed.timings, key=lambda t: t.cpu, reverse=True)[: args.top]:
        print(f"{t.cpu:7.2f} {t.wall:7.2f}  {t.caller}\n{'':17}{t.sql[:120]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

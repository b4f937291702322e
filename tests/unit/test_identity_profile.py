"""The identity profiler's bookkeeping: statements timed, stages split into SQL and other."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from python_models.benchmarks.identity_profile import StatementTiming, TimedConnection, stage_cpu


def test_stage_cpu_splits_each_stage_into_its_statements_and_the_rest():
    timings = [
        StatementTiming(1.0, 0.5, "a", "select 1"),
        StatementTiming(1.0, 0.25, "a", "select 2"),
        StatementTiming(1.0, 1.0, "b", "select 3"),
    ]
    marks = [("prepare", 1.0, 2), ("write", 3.0, 3)]
    assert stage_cpu(marks, timings) == [("prepare", 1.0, 0.75), ("write", 2.0, 1.0)]


def test_timed_connection_times_each_statement_and_finds_the_callers_arrow_tables():
    timed = TimedConnection(duckdb.connect())
    lookup = pa.table({"k": ["a", "b"]})  # noqa: F841 - named by the SQL below
    timed.execute("create table t as select * from lookup")
    assert timed.execute("select count(*) from t").fetchone() == (2,)
    assert [t.sql for t in timed.timings] == [
        "create table t as select * from lookup",
        "select count(*) from t",
    ]
    assert all(t.wall >= 0 and t.cpu >= 0 for t in timed.timings)

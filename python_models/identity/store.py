"""The `identity.*` tables: their DDL and the one transaction that writes a run's results.

`identity_links` and `identity_review_queue` hold the latest run only; `identity_graph` is
rewritten in place (same table object, so views on it survive); `identity_merges` and
`identity_splits` are append-only history, and so is `identity_runs`, one row per run with
its sizes and timings (logged after the run's transaction commits).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb

SCHEMA = "identity"
GRAPH = f"{SCHEMA}.identity_graph"
LINKS = f"{SCHEMA}.identity_links"
REVIEW_QUEUE = f"{SCHEMA}.identity_review_queue"
MERGES = f"{SCHEMA}.identity_merges"
SPLITS = f"{SCHEMA}.identity_splits"
RUNS = f"{SCHEMA}.identity_runs"

DDL: tuple[str, ...] = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {LINKS} (
        left_source_system VARCHAR, left_record_id VARCHAR,
        right_source_system VARCHAR, right_record_id VARCHAR,
        rule VARCHAR, match_weight DOUBLE, match_probability DOUBLE, evidence JSON,
        decision VARCHAR, run_id VARCHAR, linked_at TIMESTAMP, last_confirmed_run VARCHAR)""",
    f"""create table if not exists {GRAPH} (
        source_system VARCHAR NOT NULL, source_record_id VARCHAR NOT NULL,
        customer_key VARCHAR NOT NULL, link_method VARCHAR, confidence DOUBLE,
        first_linked_at TIMESTAMP, last_run_id VARCHAR, first_run_id VARCHAR)""",
    f"""create table if not exists {REVIEW_QUEUE} (
        left_source_system VARCHAR, left_record_id VARCHAR,
        right_source_system VARCHAR, right_record_id VARCHAR,
        match_weight DOUBLE, match_probability DOUBLE, evidence JSON, reason VARCHAR,
        queued_at TIMESTAMP, run_id VARCHAR)""",
    f"""create table if not exists {MERGES} (
        merged_at TIMESTAMP, run_id VARCHAR, surviving_key VARCHAR, merged_key VARCHAR,
        evidence JSON)""",
    f"""create table if not exists {SPLITS} (
        split_at TIMESTAMP, run_id VARCHAR, original_key VARCHAR, new_key VARCHAR,
        evidence JSON)""",
    f"""create table if not exists {RUNS} (
        run_id VARCHAR, as_of TIMESTAMP, finished_at TIMESTAMP, records BIGINT,
        candidate_pairs BIGINT, auto_links BIGINT, review_queue BIGINT, clusters BIGINT,
        seconds DOUBLE, cpu_seconds DOUBLE, report JSON)""",
    # Provenance (added later; a warehouse made before gets the columns): a link keeps the
    # run that made it (`run_id`, `linked_at`) while `last_confirmed_run` moves; a graph row
    # keeps the run that first gave the record its key (`first_run_id`).
    f"alter table {LINKS} add column if not exists last_confirmed_run VARCHAR",
    f"alter table {GRAPH} add column if not exists first_run_id VARCHAR",
)


def ensure_identity_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the identity schema and tables if this warehouse has none yet."""
    for statement in DDL:
        con.execute(statement)


def previous_graph_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `identity.identity_graph` exists (a first run has no previous keys)."""
    row = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = ? and table_name = 'identity_graph' and not temporary",
        [SCHEMA],
    ).fetchall()[0]
    return bool(row and row[0])


def write_run(con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list]]) -> None:
    """Run the write statements of one resolution run atomically (all or nothing).

    The rows are inserted in no particular order (DuckDB's `preserve_insertion_order` is
    off meanwhile, and restored after): no reader depends on a table's row order, and
    keeping it makes DuckDB write each table through one thread."""
    keeps_order = con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("set preserve_insertion_order = false")
    try:
        con.execute("begin transaction")
        try:
            for sql, params in statements:
                con.execute(sql, params)
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
    finally:
        con.execute(f"set preserve_insertion_order = {bool(keeps_order)}")


def log_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of: object, report: dict) -> None:
    """Append one row to `identity_runs`: the run's figures, and the whole report as JSON."""
    con.execute(
        f"""insert into {RUNS}
        select $run_id, $as_of, $finished_at, $records, $pairs, $auto, $queue, $clusters,
            $seconds, $cpu, $report::JSON""",
        {
            "run_id": run_id,
            "as_of": as_of,
            "finished_at": datetime.now(UTC).replace(tzinfo=None),
            "records": report["records"],
            "pairs": report["candidate_pairs"],
            "auto": report["links_by_decision"].get("auto_link", 0),
            "queue": report["review_queue"],
            "clusters": report["clusters"],
            "seconds": report["seconds"],
            "cpu": report["cpu_seconds"],
            "report": json.dumps(report),
        },
    )

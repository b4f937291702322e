"""Retention: raw clickstream events older than the window are purged, and the purge audited.

Only raw behavioural events (`raw.web_events`, their quarantined rows and the
`staging.stg_web__events` table built from them) are purged: orders are financial records
and consent events are the proof of consent, both kept for their own legal periods. The
marts and model outputs are tables, so the aggregates already computed from the purged
events (`int_customer_features`, segment history, scores) stay as they are; a later rebuild
recomputes "last 90 days" features from the events still held, which the window (default
730 days, `CUSTOMER360_RETENTION_DAYS`) keeps well clear of.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from python_models.privacy.audit import log_event

#: (table, SQL of the event time as a UTC timestamp) of every table the purge prunes.
PURGED_TABLES: tuple[tuple[str, str], ...] = (
    ("raw.web_events", "try_cast(occurred_at as timestamptz) at time zone 'UTC'"),
    ("quarantine.web_events", "try_cast(occurred_at as timestamptz) at time zone 'UTC'"),
    ("staging.stg_web__events", "occurred_at"),
)


def retention_cutoff(as_of: datetime, retention_days: int) -> datetime:
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    return as_of - timedelta(days=retention_days)


def _base_table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, _, table = qualified.partition(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ? and table_type = 'BASE TABLE'",
            [schema, table],
        ).fetchone()[0]
    )


def purge_expired_events(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime,
    retention_days: int,
    run_id: str,
) -> dict[str, int]:
    """Delete events older than `as_of - retention_days`; returns rows deleted per table.

    One transaction; audited in `audit.privacy_log` (event `purge`) with the cutoff.
    """
    cutoff = retention_cutoff(as_of, retention_days)
    deleted: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table, event_time in PURGED_TABLES:
            if not _base_table_exists(con, table):
                continue
            row = con.execute(
                f"delete from {table} where {event_time} < ?::timestamp", [cutoff]
            ).fetchone()
            deleted[table] = int(row[0]) if row else 0
        log_event(
            con,
            "purge",
            run_id=run_id,
            outcome="purged",
            rows_by_table=deleted,
            details={"cutoff": cutoff.isoformat(), "retention_days": retention_days},
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return deleted

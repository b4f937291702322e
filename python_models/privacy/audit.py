"""`audit.privacy_log`: one row per consent change, erasure, access request, export or purge.

What happened, when, in which run, to how many subjects and rows (per table, as JSON), with
the request id that asked for it. It never holds a personal identifier: an erasure's
record names its request and counts, not the person.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import duckdb

PRIVACY_LOG = "audit.privacy_log"
EVENT_TYPES = ("consent_change", "erasure", "access_request", "export", "purge")


def ensure_privacy_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(
        f"create table if not exists {PRIVACY_LOG} (event_id varchar, event_type varchar, "
        "request_id varchar, run_id varchar, occurred_at timestamp, outcome varchar, "
        "subjects bigint, rows_affected bigint, rows_by_table json, details json)"
    )


def _event_row(
    event_type: str,
    run_id: str,
    occurred_at: datetime,
    *,
    outcome: str,
    request_id: str | None = None,
    subjects: int = 0,
    rows_by_table: dict[str, int] | None = None,
    details: dict[str, Any] | None = None,
) -> list[Any]:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    rows = {k: int(v) for k, v in sorted((rows_by_table or {}).items()) if v}
    return [
        uuid.uuid4().hex,
        event_type,
        request_id,
        run_id,
        occurred_at,
        outcome,
        subjects,
        sum(rows.values()),
        json.dumps(rows),
        json.dumps(details or {}, sort_keys=True, default=str),
    ]


def log_events(
    con: duckdb.DuckDBPyConnection,
    event_type: str,
    events: list[dict[str, Any]],
    *,
    run_id: str,
    occurred_at: datetime | None = None,
) -> list[str]:
    """Append several audit events of one type and run in one statement (an erasure of a
    thousand requests writes a thousand rows, not a thousand statements); returns their
    ids. Each event holds `outcome` and optionally `request_id`, `subjects`,
    `rows_by_table` and `details`, which must hold no personal data."""
    if not events:
        return []
    ensure_privacy_log(con)
    at = occurred_at or datetime.now(UTC).replace(tzinfo=None)
    rows = [_event_row(event_type, run_id, at, **event) for event in events]
    columns = list(zip(*rows, strict=True))
    con.execute(
        f"insert into {PRIVACY_LOG} select "
        + ", ".join(f"unnest(${i + 1})" for i in range(len(columns))),
        [list(c) for c in columns],
    )
    return [row[0] for row in rows]


def log_event(
    con: duckdb.DuckDBPyConnection,
    event_type: str,
    *,
    run_id: str,
    outcome: str,
    request_id: str | None = None,
    subjects: int = 0,
    rows_by_table: dict[str, int] | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> str:
    """Append one audit event; returns its id. `details` must hold no personal data."""
    event = {
        "outcome": outcome,
        "request_id": request_id,
        "subjects": subjects,
        "rows_by_table": rows_by_table,
        "details": details,
    }
    (event_id,) = log_events(con, event_type, [event], run_id=run_id, occurred_at=occurred_at)
    return event_id

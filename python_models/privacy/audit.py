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
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    ensure_privacy_log(con)
    event_id = uuid.uuid4().hex
    rows = {k: int(v) for k, v in sorted((rows_by_table or {}).items()) if v}
    con.execute(
        f"insert into {PRIVACY_LOG} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            event_id,
            event_type,
            request_id,
            run_id,
            occurred_at or datetime.now(UTC).replace(tzinfo=None),
            outcome,
            subjects,
            sum(rows.values()),
            json.dumps(rows),
            json.dumps(details or {}, sort_keys=True, default=str),
        ],
    )
    return event_id

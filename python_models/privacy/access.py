"""Right of access (GDPR art. 15): everything held about a person, as one JSON document.

The access request resolves its identifiers exactly as an erasure does
(`erasure.resolve_requests`) and reads the rows an erasure would delete
(`erasure.collect_hits`), so what a person is shown and what erasing them removes are, by
construction, the same table-by-table list: source records (raw and quarantine), the golden
record, consents with their history, segments and segment history, scores and model outputs
with their reasons, the exports they appeared in, identity links with their evidence. The
identity links and review-queue rows carry the match evidence JSON.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from python_models.privacy.audit import log_event
from python_models.privacy.erasure import (
    UNTOUCHED_SCHEMAS,
    collect_hits,
    drop_work_tables,
    resolve_requests,
)
from python_models.privacy.requests import IdentifierRequest


def access_report(
    con: duckdb.DuckDBPyConnection,
    requests: Sequence[IdentifierRequest],
    *,
    run_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """{request_id, generated_at, customer_keys, tables: {schema.table: [row, ...]}} for the
    request ids given (all identifiers of one person should share one request id)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    documents: dict[str, dict[str, Any]] = {}
    try:
        tables, matched = resolve_requests(con, requests)
        for request_id in dict.fromkeys(r.request_id for r in requests):
            documents[request_id] = {
                "request_id": request_id,
                "generated_at": now.isoformat(),
                "customer_keys": matched.get(request_id, []),
                "tables": {},
            }
        for (schema, table), columns in tables.items():
            if schema in UNTOUCHED_SCHEMAS:
                continue
            if not collect_hits(con, schema, table, columns):
                continue
            result = con.execute(
                f'select h.request_id, t.* from "{schema}"."{table}" as t '
                "join (select distinct rid, request_id from _privacy_hits) as h "
                "on t.rowid = h.rid order by all"
            )
            names = [d[0] for d in result.description]
            for row in result.fetchall():
                record = dict(zip(names[1:], row[1:], strict=True))
                documents[row[0]]["tables"].setdefault(f"{schema}.{table}", []).append(record)
    finally:
        drop_work_tables(con)
    for request_id, document in documents.items():
        found = bool(document["customer_keys"] or document["tables"])
        log_event(
            con,
            "access_request",
            run_id=run_id,
            outcome="exported" if found else "no_match",
            request_id=request_id,
            subjects=len(document["customer_keys"]),
            rows_by_table={t: len(rows) for t, rows in document["tables"].items()},
            occurred_at=now,
        )
    return documents


def to_json(document: dict[str, Any]) -> str:
    """The document as JSON text (timestamps ISO, decimals as numbers, JSON columns parsed)."""

    def default(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value) if not isinstance(value, int | float) else value

    def parse_json_strings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            for name, value in row.items():
                if isinstance(value, str) and value[:1] in "{[":
                    with contextlib.suppress(ValueError):
                        row[name] = json.loads(value)
        return rows

    document = {
        **document,
        "tables": {t: parse_json_strings(r) for t, r in document["tables"].items()},
    }
    return json.dumps(document, indent=2, default=default, ensure_ascii=False)

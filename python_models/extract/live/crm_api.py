"""Extract CRM contacts from a paginated REST API (HubSpot-shaped) into `raw.crm_contacts`.

httpx fetches pages (`limit`, `after` cursor, `updated_since` modified-since filter, bearer
token); tenacity retries what is transient: HTTP 429 (waiting what `Retry-After` says), 5xx,
a dropped connection, a page that is not valid JSON, with capped exponential back-off.
A rejected token (401/403) stops at once with a message that says to renew it.

Exactly once, by keeping the cursor in the warehouse: `audit.live_cursors` holds, per
resource, the modified-since watermark of the last complete extract and, while an extract is
under way, the `after` token of the last page written. Pages are written in small batches,
each in one transaction together with the cursor, so an interrupted extract resumes after
the last page written and never loads a page twice. A complete extract moves the watermark
to the newest `updatedAt` seen; the next one asks for `updated_since` = watermark (inclusive,
so a contact changed in the same second is not missed) and leaves out records identical to
the version already in raw, so a re-run with no changes loads nothing.

A record without an id lands with `crm_id` NULL and its whole record in `_extra`; the
contract's `required` rule holds it in quarantine. The token is never logged, never put in
metadata, and never part of an error message.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from python_models.contract import CONTRACT
from python_models.extract import sql
from python_models.extract.live.landing import (
    LiveSourceError,
    TableOutcome,
    block_erased,
    ensure_live_tables,
    quarantine_rows,
    raw_insert_prefix,
    write_audit,
)

SOURCE = "crm"
RAW_TABLE = "crm_contacts"
CONTACTS_PATH = "/crm/v3/objects/contacts"
_ID_COLUMN = "crm_id"


class TokenRejected(LiveSourceError):
    """The API refused the token (401/403): a person must renew it."""


class _Transient(Exception):
    """A response worth asking again for (429, 5xx, broken page, dropped connection)."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True)
class CrmApiConfig:
    """Where the CRM API is, the token, and how patiently to page through it.

    `token` is excluded from the repr so a logged config never shows it.
    """

    base_url: str
    token: str = field(repr=False)
    page_size: int = 100
    pages_per_commit: int = 10
    max_attempts: int = 8
    backoff_initial_seconds: float = 0.2
    backoff_max_seconds: float = 10.0
    max_retry_after_seconds: float = 120.0
    timeout_seconds: float = 30.0
    resource: str = "contacts"
    #: the HMAC key of the erasure tombstones; contacts of erased people are dropped
    tombstone_key: bytes | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"crm-api:{CONTACTS_PATH}"


@dataclass
class _Cursor:
    since: str | None = None
    after: str | None = None
    max_seen: str | None = None
    pages: int = 0


def _ensure_cursor_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create table if not exists audit.live_cursors (source varchar, resource varchar, "
        "since varchar, after varchar, max_seen varchar, pages integer, run_id varchar, "
        "updated_at timestamp)"
    )


def _read_cursor(con: duckdb.DuckDBPyConnection, resource: str) -> _Cursor:
    row = con.execute(
        "select since, after, max_seen, pages from audit.live_cursors "
        "where source = ? and resource = ?",
        [SOURCE, resource],
    ).fetchone()
    return _Cursor(*row) if row else _Cursor()


def _write_cursor(
    con: duckdb.DuckDBPyConnection, resource: str, cursor: _Cursor, run_id: str
) -> None:
    con.execute(
        "delete from audit.live_cursors where source = ? and resource = ?", [SOURCE, resource]
    )
    con.execute(
        "insert into audit.live_cursors values (?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [SOURCE, resource, cursor.since, cursor.after, cursor.max_seen, cursor.pages, run_id],
    )


def reset_cursor(con: duckdb.DuckDBPyConnection, resource: str = "contacts") -> None:
    """Forget the CRM cursor: the next extract reads every contact again (nothing is lost:
    unchanged contacts are recognised and not loaded twice)."""
    _ensure_cursor_table(con)
    con.execute(
        "delete from audit.live_cursors where source = ? and resource = ?", [SOURCE, resource]
    )


# -- HTTP ----------------------------------------------------------------------------------


def _retry_after(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), cap)
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            wait = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
        return min(max(wait, 0.0), cap)


def fetch_page(client: Any, config: CrmApiConfig, params: dict[str, Any]) -> dict[str, Any]:
    """One page as parsed JSON; raises `_Transient` for what a retry may cure."""
    import httpx

    try:
        response = client.get(
            CONTACTS_PATH, params=params, headers={"Authorization": f"Bearer {config.token}"}
        )
        body = response.content
    except httpx.TransportError as exc:  # connect/read errors, a connection cut mid-body
        raise _Transient("connection", type(exc).__name__) from None
    status = response.status_code
    if status in (401, 403):
        try:
            message = str(response.json().get("message", ""))[:200]
        except ValueError:
            message = ""
        raise TokenRejected(
            f"the CRM API at {config.base_url} rejected the token (HTTP {status}"
            f"{': ' + message if message else ''}). Renew the API token and set "
            "CUSTOMER360_CRM_API_TOKEN (or the Dagster secret); nothing of this page was "
            "written, and the next extract resumes after the last page written."
        )
    if status == 429:
        wait = _retry_after(response.headers.get("retry-after"), config.max_retry_after_seconds)
        raise _Transient("rate_limited", "HTTP 429", retry_after=wait)
    if status >= 500:
        raise _Transient("server_error", f"HTTP {status}")
    if status >= 400:
        raise LiveSourceError(
            f"the CRM API at {config.base_url} answered HTTP {status} to {CONTACTS_PATH}: "
            f"{body[:200]!r}"
        )
    try:
        payload = json.loads(body)
    except ValueError:
        raise _Transient("malformed", f"page is not valid JSON ({len(body)} bytes)") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise _Transient("malformed", "page has no `results` list")
    return payload


@dataclass
class _RetryLog:
    counts: dict[str, int] = field(default_factory=dict)
    waited_seconds: float = 0.0

    def notes(self) -> list[str]:
        if not self.counts:
            return []
        kinds = ", ".join(f"{n} x {k}" for k, n in sorted(self.counts.items()))
        return [f"retried {sum(self.counts.values())} requests ({kinds}); "
                f"waited {self.waited_seconds:.1f}s in back-off"]  # fmt: skip


def fetch_with_retries(
    client: Any, config: CrmApiConfig, params: dict[str, Any], log: _RetryLog
) -> dict[str, Any]:
    """`fetch_page` under tenacity: Retry-After for 429, capped exponential back-off else."""
    import tenacity

    exponential = tenacity.wait_exponential_jitter(
        initial=config.backoff_initial_seconds,
        max=config.backoff_max_seconds,
        jitter=config.backoff_initial_seconds,
    )

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            seconds = error.retry_after
        else:
            seconds = exponential(state)
        log.waited_seconds += seconds
        return seconds

    def count(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        kind = error.kind if isinstance(error, _Transient) else type(error).__name__
        log.counts[kind] = log.counts.get(kind, 0) + 1

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(_Transient),
        wait=wait,
        stop=tenacity.stop_after_attempt(config.max_attempts),
        before_sleep=count,
        reraise=True,
    )
    return retrying(fetch_page, client, config, params)


# -- records -> raw ------------------------------------------------------------------------


def records_table(records: list[dict[str, Any]], columns: tuple[str, ...]) -> pa.Table:
    """API records as text columns of the contract, unknown properties kept as `_extra` JSON."""
    values: dict[str, list[str | None]] = {c: [] for c in columns}
    extras: list[str | None] = []
    for record in records:
        props = record.get("properties") if isinstance(record.get("properties"), dict) else {}
        record_id = record.get("id")
        row = {c: props.get(c) for c in columns}
        row[_ID_COLUMN] = None if record_id in (None, "") else str(record_id)
        if not row.get("updated_at"):
            row["updated_at"] = record.get("updatedAt")
        for column in columns:
            value = row.get(column)
            values[column].append(None if value is None else str(value))
        unknown = {k: v for k, v in props.items() if k not in columns}
        if row[_ID_COLUMN] is None:
            unknown["record_without_id"] = record  # kept whole for whoever fixes the CRM
        extras.append(json.dumps(unknown, default=str) if unknown else None)
    arrays = {c: pa.array(values[c], pa.string()) for c in columns}
    arrays["_extra"] = pa.array(extras, pa.string())
    return pa.table(arrays)


def insert_changed_sql(columns: tuple[str, ...], batch: str, address: str) -> str:
    """INSERT the batch's records that differ from the latest raw version of their contact."""
    raw = f"{sql.RAW_SCHEMA}.{sql.quote_ident(RAW_TABLE)}"
    key = sql.quote_ident(_ID_COLUMN)
    compared = [*columns, "_extra"]

    def hash_of(alias: str) -> str:
        return "hash(" + ", ".join(f"{alias}.{sql.quote_ident(c)}" for c in compared) + ")"

    picked = ", ".join(sql.quote_ident(c) for c in columns)
    return (
        f"{raw_insert_prefix(RAW_TABLE)}"
        f"with batch as (select {picked}, _extra::json as _extra, "
        f"row_number() over () as position from {batch}), "
        f"latest as (select * from {raw} where {key} in (select {key} from batch) "
        f"qualify row_number() over (partition by {key} order by _loaded_at desc, "
        f"_load_id desc) = 1) "
        f"select b.* exclude (position), $first_row + row_number() over (order by b.position) "
        f"as _row_number, $load_id as _load_id, {sql.quote_literal(address)} as _source_file, "
        f"$loaded_at::timestamp as _loaded_at "
        f"from batch b left join latest r on b.{key} = r.{key} "
        f"where b.{key} is null or r.{key} is null or {hash_of('b')} <> {hash_of('r')}"
    )


def _newest(records: list[dict[str, Any]], current: str | None) -> str | None:
    stamps = [str(r["updatedAt"]) for r in records if r.get("updatedAt")]
    if current:
        stamps.append(current)
    return max(stamps) if stamps else None


PageHook = Callable[[int], None]


def extract_crm_contacts(
    con: duckdb.DuckDBPyConnection,
    config: CrmApiConfig,
    run_id: str | None = None,
    *,
    client: Any = None,
    after_commit: PageHook | None = None,
) -> TableOutcome:
    """Page through the CRM's contacts modified since the stored watermark into raw.

    `after_commit(pages_written)` runs after each committed batch (tests interrupt there).
    """
    import httpx

    started = time.perf_counter()
    run_id = run_id or uuid.uuid4().hex
    ensure_live_tables(con, [RAW_TABLE])
    _ensure_cursor_table(con)
    _quarantine_unaudited(con, config, run_id)
    columns = CONTRACT[RAW_TABLE].column_names
    cursor = _read_cursor(con, config.resource)
    outcome = TableOutcome(
        source=SOURCE,
        raw_table=RAW_TABLE,
        address=config.address,
        load_id=f"{SOURCE}-api-{run_id[:12]}",
        cursor_before=_describe(cursor),
    )
    if cursor.after:
        outcome.notes.append(f"resumed an interrupted extract after page {cursor.pages}")
    else:
        cursor = _Cursor(since=cursor.since, max_seen=cursor.since)
    log = _RetryLog()
    own_client = client is None
    client = client or httpx.Client(base_url=config.base_url, timeout=config.timeout_seconds)
    pending: list[dict[str, Any]] = []
    pending_pages = 0
    without_id = 0

    def commit(next_after: str | None) -> None:
        nonlocal pending, pending_pages
        batch = records_table(pending, columns)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        con.execute("begin transaction")
        try:
            con.register("_c360_crm_batch", batch)
            inserted = con.execute(
                insert_changed_sql(columns, "_c360_crm_batch", config.address),
                {
                    "load_id": outcome.load_id,
                    "loaded_at": loaded_at,
                    # unique row numbers within the load, even after blocked rows went
                    "first_row": outcome.rows_read,
                },
            ).fetchone()[0]
            con.unregister("_c360_crm_batch")
            blocked = block_erased(con, RAW_TABLE, outcome.load_id, config.tombstone_key)
            inserted -= blocked
            outcome.rows_blocked += blocked
            cursor.after = next_after
            cursor.pages += pending_pages
            cursor.max_seen = _newest(pending, cursor.max_seen)
            if next_after is None:  # complete: the next extract starts from what we saw
                cursor.since, cursor.pages = cursor.max_seen, 0
            _write_cursor(con, config.resource, cursor, run_id)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        outcome.rows_read += len(pending)
        outcome.rows_loaded += int(inserted)
        pending, pending_pages = [], 0
        if after_commit is not None:
            after_commit(cursor.pages)

    request_after = cursor.after
    try:
        while True:
            params: dict[str, Any] = {"limit": config.page_size}
            if cursor.since:
                params["updated_since"] = cursor.since
            if request_after:
                params["after"] = request_after
            page_number = cursor.pages + pending_pages + 1
            try:
                payload = fetch_with_retries(client, config, params, log)
            except _Transient as exc:
                raise LiveSourceError(
                    f"the CRM API at {config.base_url} kept failing on page {page_number} "
                    f"after {config.max_attempts} attempts ({exc}); the pages before it are "
                    "written and the next extract resumes there."
                ) from None
            records = payload["results"]
            without_id += sum(1 for r in records if r.get("id") in (None, ""))
            pending.extend(records)
            pending_pages += 1
            request_after = ((payload.get("paging") or {}).get("next") or {}).get("after")
            if request_after is None or pending_pages >= config.pages_per_commit:
                commit(request_after)
            if request_after is None:
                break
    except LiveSourceError as exc:
        outcome.status = "failed"
        outcome.notes += [*log.notes(), str(exc)]
        _finish(con, outcome, run_id, started)
        raise
    finally:
        if own_client:
            client.close()
    if without_id:
        outcome.notes.append(f"{without_id} records without an id held in quarantine")
    outcome.notes += log.notes()
    outcome.cursor_after = cursor.since
    outcome.rows_unchanged = outcome.rows_read - outcome.rows_loaded
    _finish(con, outcome, run_id, started)
    return outcome


def _describe(cursor: _Cursor) -> str | None:
    if cursor.after:
        return f"{cursor.since or 'start'} (resuming after page {cursor.pages})"
    return cursor.since


def _finish(
    con: duckdb.DuckDBPyConnection, outcome: TableOutcome, run_id: str, started: float
) -> None:
    if outcome.rows_loaded:
        outcome.rows_quarantined = quarantine_rows(con, RAW_TABLE, outcome.load_id)
    outcome.seconds = time.perf_counter() - started
    write_audit(con, outcome, run_id)


def _quarantine_unaudited(
    con: duckdb.DuckDBPyConnection, config: CrmApiConfig, run_id: str
) -> None:
    """Loads an extract wrote before it died (no audit row): run the quality rules on them."""
    orphans = con.execute(
        f"select _load_id, count(*) from {sql.RAW_SCHEMA}.{RAW_TABLE} "
        "where _source_file = ? and _load_id not in (select load_id from audit.load_audit "
        "where load_id is not null) group by _load_id",
        [config.address],
    ).fetchall()
    for load_id, rows in orphans:
        recovered = TableOutcome(
            source=SOURCE,
            raw_table=RAW_TABLE,
            address=config.address,
            load_id=load_id,
            rows_read=int(rows),
            rows_loaded=int(rows),
            status="loaded",
            notes=["written by an extract that stopped before its audit; checked now"],
        )
        recovered.rows_quarantined = quarantine_rows(con, RAW_TABLE, load_id)
        write_audit(con, recovered, run_id)

"""Extract the shop's orders and order lines from PostgreSQL with dlt, incrementally.

dlt's `sql_table` (psycopg 3, `pyarrow` backend) reads each table by the cursor
`updated_at` and lands the new rows in the warehouse dataset `shop_db`, where dlt also keeps
its state (`shop_db._dlt_pipeline_state`): the cursor lives in the warehouse, and dlt's local
working folder is a fresh temporary one every run, restored from there. Rows that share the
cursor's last timestamp are not skipped: dlt reads `updated_at >= last value` and drops the
rows it already saw by primary key (`id`, or `order_id, line_number`).

From `shop_db.<table>` the rows move into `raw.<table>` in one transaction: contract columns
as VARCHAR (timestamps as ISO 8601 UTC), source columns the contract does not know kept in
`_extra` and reported, and rows identical to the latest version already in raw left out. The
moved rows are then removed from `shop_db.<table>`, so a crash anywhere leaves them to move on
the next run and nothing is loaded twice.

Known limits, handled:
- A transaction that commits late with an `updated_at` older than the stored cursor would be
  missed (dlt issue 2269). Every run re-reads a lag window (`lag_seconds`, default 10
  minutes, longer than any shop transaction); re-read rows that did not change are
  recognised by content and not loaded again, so a re-run with no changes loads nothing.
- A cursor never sees a hard delete. A run reconciles primary keys (every run by default, or
  once per `reconcile_interval_seconds`: the source's key set,
  streamed with COPY, anti-joined against the keys whose latest raw version came from this
  source); a key that has gone gets a tombstone version with `deleted_at` set. Soft deletes
  (`orders.deleted_at`) arrive through the cursor like any other update. Staging drops rows
  whose latest version is deleted; raw keeps the history.
- New source columns land in `_extra` and are reported; a column whose type changes is
  reported (the value still lands as text).
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import duckdb

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

SOURCE = "shop"
Backend = Literal["pyarrow", "connectorx", "sqlalchemy"]
_DLT_COLUMN = re.compile(r"^_dlt_")
#: the `_extra` key staging reads to drop a deleted record (soft delete or tombstone)
DELETED_KEY = "deleted_at"


@dataclass(frozen=True)
class ShopTable:
    """One shop table and the raw table it lands in.

    `columns` maps each raw contract column to the source column it is read from; contract
    columns not listed stay NULL, source columns not listed go to `_extra`. The soft-delete
    column (`deleted_column`) always lands in `_extra` as `deleted_at`, the key staging reads
    to drop deleted records; a hard delete's tombstone sets the same key.
    """

    source_table: str
    raw_table: str
    primary_key: tuple[str, ...]
    columns: dict[str, str]
    cursor: str = "updated_at"
    deleted_column: str | None = None

    @property
    def raw_key(self) -> tuple[str, ...]:
        by_source = {v: k for k, v in self.columns.items()}
        return tuple(by_source[c] for c in self.primary_key)


SHOP_TABLES: tuple[ShopTable, ...] = (
    ShopTable(
        source_table="orders",
        raw_table="shop_orders",
        primary_key=("id",),
        columns={
            "order_id": "id",
            "user_id": "customer_id",
            "crm_id": "crm_id",
            "customer_email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "phone": "phone",
            "ship_street": "ship_street",
            "ship_city": "ship_city",
            "ship_postcode": "ship_postcode",
            "ship_country": "ship_country",
            "ordered_at": "ordered_at",
            "status": "status",
            "currency": "currency",
            "shipping_amount": "shipping_amount",
        },
        deleted_column="deleted_at",
    ),
    ShopTable(
        source_table="order_lines",
        raw_table="shop_order_lines",
        primary_key=("order_id", "line_number"),
        columns={
            "order_id": "order_id",
            "line_number": "line_number",
            "product_id": "product_id",
            "quantity": "quantity",
            "unit_price": "unit_price",
            "discount": "discount",
        },
    ),
    # the shop accounts behind orders' `customer_id`: person records (identity resolution
    # reads them as the `web_user` record of the same account)
    ShopTable(
        source_table="customers",
        raw_table="shop_customers",
        primary_key=("id",),
        columns={
            "user_id": "id",
            "email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "created_at": "created_at",
            "updated_at": "updated_at",
        },
    ),
    # the catalogue, landing where the catalogue files land
    ShopTable(
        source_table="products",
        raw_table="catalog_products",
        primary_key=("id",),
        columns={
            "product_id": "id",
            "name": "name",
            "category": "category",
            "tags": "tags",
            "price": "price",
            "currency": "currency",
        },
    ),
)

#: source columns that are bookkeeping, not data: never reported as new, never in `_extra`
_BOOKKEEPING = frozenset({"created_at", "updated_at"})


@dataclass(frozen=True)
class PostgresExtractConfig:
    """How to reach the shop database and how to extract it.

    Attributes:
        database_url: ``postgresql://user:password@host:port/database``; the user needs only
            SELECT on the tables (see docs/live-sources.md). Never logged with its password.
        schema: the PostgreSQL schema holding the shop tables.
        backend: dlt's `sql_table` backend; `connectorx` (Rust, straight into Arrow) is the
            one that meets the throughput target (docs/benchmarks.md), `pyarrow` the fallback.
        chunk_size: rows per batch read from the server.
        lag_seconds: the window re-read behind the cursor so late commits are not missed.
        reconcile_deletes: anti-join the source's primary keys to see hard deletes.
        reconcile_interval_seconds: reconcile a table only when its last reconciliation is
            at least this old (0: every run); deletes then show up within this interval.
        dataset: the warehouse schema where dlt lands rows and keeps its state (must differ
            from the DuckDB file's name).
        connect_timeout_seconds: how long to wait for the server before giving up.
    """

    database_url: str
    schema: str = "shop"
    backend: Backend = "connectorx"
    chunk_size: int = 100_000
    lag_seconds: float = 600.0
    reconcile_deletes: bool = True
    reconcile_interval_seconds: float = 0.0
    dataset: str = "shop_db"
    connect_timeout_seconds: int = 10
    tables: tuple[ShopTable, ...] = field(default=SHOP_TABLES)
    #: the HMAC key of the erasure tombstones (settings' privacy key); rows of erased people
    #: are dropped before they are visible
    tombstone_key: bytes | None = field(default=None, repr=False)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def _endpoint(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or 5432, (parts.path or "/").lstrip("/")


def _psycopg_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def _sqlalchemy_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)


def check_reachable(config: PostgresExtractConfig) -> None:
    """Fail with a short, clear message (host, port, what to check) when the server is down."""
    import psycopg

    host, port, database = _endpoint(config.database_url)
    try:
        with psycopg.connect(
            _psycopg_url(config.database_url), connect_timeout=config.connect_timeout_seconds
        ) as pg:
            pg.execute("select 1")
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if config.database_url and urlsplit(config.database_url).password:
            reason = reason.replace(urlsplit(config.database_url).password or "", "***")
        raise LiveSourceError(
            f"cannot reach the shop database at {host}:{port} (database {database!r}): "
            f"{reason}. Check that the server is running and that "
            "CUSTOMER360_SHOP_DATABASE_URL points at it."
        ) from None


# -- source schema drift ---------------------------------------------------------------------


def source_columns(config: PostgresExtractConfig, table: ShopTable) -> dict[str, str]:
    """column name -> PostgreSQL data type of one source table, in table order."""
    import psycopg

    with psycopg.connect(_psycopg_url(config.database_url)) as pg:
        rows = pg.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            [config.schema, table.source_table],
        ).fetchall()
    if not rows:
        raise LiveSourceError(
            f"table {config.schema}.{table.source_table} not found in the shop database "
            f"{redacted(config.database_url)}, or the user may not read it "
            f"(grant select on {config.schema}.{table.source_table})"
        )
    return {name: kind for name, kind in rows}


def drift_notes(
    table: ShopTable, before: dict[str, str], now: dict[str, str]
) -> tuple[list[str], tuple[str, ...]]:
    """Notes on new/changed/dropped source columns, and the unmapped columns kept in `_extra`."""
    mapped = set(table.columns.values()) | _BOOKKEEPING | {table.deleted_column}
    notes: list[str] = []
    for name, kind in now.items():
        if name in before and before[name] != kind:
            notes.append(
                f"column {table.source_table}.{name} changed type {before[name]} -> {kind}"
            )
        elif before and name not in before:
            notes.append(f"new column {table.source_table}.{name} ({kind}) kept in _extra")
    for name in before:
        if name not in now:
            notes.append(f"column {table.source_table}.{name} was dropped from the source")
    missing = [c for c in table.columns.values() if c not in now]
    if missing:
        notes.append(f"mapped columns missing in {table.source_table}: {', '.join(missing)}")
    extra = tuple(c for c in now if c not in mapped)
    return notes, extra


def _remembered_columns(con: duckdb.DuckDBPyConnection, table: ShopTable) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from audit.live_source_columns "
        "where source_table = ? order by ordinal",
        [table.source_table],
    ).fetchall()
    return {name: kind for name, kind in rows}


def _remember_columns(
    con: duckdb.DuckDBPyConnection, table: ShopTable, columns: dict[str, str]
) -> None:
    con.execute(
        "delete from audit.live_source_columns where source_table = ?", [table.source_table]
    )
    con.executemany(
        "insert into audit.live_source_columns values (?, ?, ?, ?, current_timestamp)",
        [[table.source_table, i, n, k] for i, (n, k) in enumerate(columns.items())],
    )


# -- dlt ---------------------------------------------------------------------------------------


def _cursor_value(state: dict[str, Any], dataset: str, table: ShopTable) -> str | None:
    try:
        incremental = state["sources"][dataset]["resources"][table.source_table]["incremental"]
        value = incremental[table.cursor]["last_value"]
    except (KeyError, TypeError):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


ChunkHook = Callable[[str, Any], Any]


def _chunk_hook(on_chunk: ChunkHook, table_name: str) -> Callable[[Any], Any]:
    # one positional parameter: dlt passes a second (meta) to maps that take two
    def hook(chunk: Any) -> Any:
        on_chunk(table_name, chunk)
        return chunk

    return hook


def text_column_sql(column: str, pg_type: str) -> str:
    """PostgreSQL SQL reading one column as the contract's text (timestamps ISO 8601 UTC).

    Reading as text in the source makes a type change harmless to the load (numeric -> text
    is text -> text for dlt) while `drift_notes` still reports it.
    """
    ident = '"' + column.replace('"', '""') + '"'
    if pg_type == "timestamp with time zone":
        return f"""to_char({ident} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if pg_type == "timestamp without time zone":
        return f"""to_char({ident}, 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    return f"{ident}::text"


def _as_text_query(table: ShopTable, column_types: dict[str, str]) -> Callable[..., Any]:
    import sqlalchemy as sa

    def adapt(query: Any, sa_table: Any) -> Any:
        columns = [
            sa_table.c[name]
            if name == table.cursor
            else sa.literal_column(text_column_sql(name, column_types.get(name, ""))).label(name)
            for name in sa_table.c.keys()  # noqa: SIM118 - a ColumnCollection
        ]
        return query.with_only_columns(*columns)

    return adapt


def _as_text_table(table: ShopTable) -> Callable[[Any], Any]:
    import sqlalchemy as sa

    def adapt(sa_table: Any) -> Any:
        for column in sa_table.columns:
            if column.name != table.cursor:
                column.type = sa.Text()
        return sa_table

    return adapt


class _HintWarningFilter(logging.Filter):
    """Drops dlt's per-batch warning that the Arrow schema's hints differ from the resource's.

    connectorx's Arrow schema marks every column nullable and carries its own types, while
    the resource's hints come from reflection (and `_as_text_table`); dlt keeps the
    resource's, which is what the extract wants, and would otherwise warn once per batch.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "several column hints were different" not in record.getMessage()


@contextlib.contextmanager
def _quiet_hint_warnings() -> Any:
    dlt_logger = logging.getLogger("dlt")
    hint_filter = _HintWarningFilter()
    dlt_logger.addFilter(hint_filter)
    try:
        yield
    finally:
        dlt_logger.removeFilter(hint_filter)


def _backend_kwargs(config: PostgresExtractConfig) -> dict[str, Any]:
    if config.backend == "connectorx":
        # stream record batches: memory stays at one chunk, not the whole table
        return {"return_type": "arrow_stream", "batch_size": config.chunk_size}
    return {}


def run_dlt(
    con: duckdb.DuckDBPyConnection,
    config: PostgresExtractConfig,
    column_types: dict[str, dict[str, str]],
    on_chunk: ChunkHook | None = None,
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Extract every shop table into `<dataset>.<table>`; returns cursors (before, after).

    Every column but the cursor is read as text (`column_types`: PostgreSQL types by table
    and column, to format timestamps). `on_chunk(table, chunk)` is called on every batch
    read (fault-injection tests use it).
    """
    import dlt
    from dlt.sources.sql_database import sql_table

    with tempfile.TemporaryDirectory(prefix="c360-dlt-") as work:
        pipeline = dlt.pipeline(
            pipeline_name=config.dataset,
            pipelines_dir=str(Path(work)),
            destination=dlt.destinations.duckdb(con),
            dataset_name=config.dataset,
        )
        pipeline.sync_destination()  # the state lives in the warehouse: restore it from there
        before = {
            t.source_table: _cursor_value(pipeline.state, config.dataset, t) for t in config.tables
        }
        resources = []
        for table in config.tables:
            resource = sql_table(
                credentials=_sqlalchemy_url(config.database_url),
                table=table.source_table,
                schema=config.schema,
                backend=config.backend,
                chunk_size=config.chunk_size,
                incremental=dlt.sources.incremental(table.cursor, lag=config.lag_seconds or None),
                primary_key=list(table.primary_key),
                reflection_level="full",
                table_adapter_callback=_as_text_table(table),
                query_adapter_callback=_as_text_query(table, column_types[table.source_table]),
                write_disposition="append",
                backend_kwargs=_backend_kwargs(config),
            )
            if on_chunk is not None:
                resource.add_map(_chunk_hook(on_chunk, table.source_table))
            # the tables are read side by side (dlt's thread pool): while one PostgreSQL
            # backend formats rows, connectorx decodes the other table's
            resources.append(resource.parallelize())
        try:
            with _quiet_hint_warnings():
                pipeline.run(resources)
        except Exception as exc:  # dlt wraps the driver's error in PipelineStepFailed
            host, port, database = _endpoint(config.database_url)
            cause = exc
            while cause.__cause__ is not None or cause.__context__ is not None:
                cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
            reason = (
                str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            )
            raise LiveSourceError(
                f"extracting the shop database at {host}:{port} (database {database!r}) "
                f"failed: {reason}. Nothing was loaded into raw and the cursor did not move; "
                "run the extract again once the server is back."
            ) from exc
        after = {
            t.source_table: _cursor_value(pipeline.state, config.dataset, t) for t in config.tables
        }
    return before, after


# -- dlt dataset -> raw ------------------------------------------------------------------------


def _landed_columns(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [dataset, table],
    ).fetchall()
    return {name: kind for name, kind in rows}


def as_text(column: str, duckdb_type: str) -> str:
    """SQL turning one landed column into the contract's text (timestamps ISO 8601 UTC)."""
    ident = sql.quote_ident(column)
    if duckdb_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"strftime(timezone('UTC', {ident}), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if duckdb_type.startswith("TIMESTAMP"):
        return f"strftime({ident}, '%Y-%m-%dT%H:%M:%S.%f')"
    return f"cast({ident} as varchar)"


def landed_select_sql(
    table: ShopTable, dataset: str, landed: dict[str, str], contract_columns: Sequence[str]
) -> tuple[str, tuple[str, ...]]:
    """SELECT of the landed rows shaped like raw (contract columns, `_extra`, a row number)."""
    base_of = {c: re.sub(r"__v_\w+$", "", c) for c in landed if not _DLT_COLUMN.match(c)}
    columns = []
    for contract_column in contract_columns:
        source = table.columns.get(contract_column)
        if source is None or source not in landed:
            columns.append(f"null::varchar as {sql.quote_ident(contract_column)}")
            continue
        variants = [c for c, b in base_of.items() if b == source and c != source]
        text = as_text(source, landed[source])
        if variants:  # dlt put values of a changed type into a variant column
            text = f"coalesce({text}, " + ", ".join(as_text(v, landed[v]) for v in variants) + ")"
        columns.append(f"{text} as {sql.quote_ident(contract_column)}")
    mapped = set(table.columns.values()) | _BOOKKEEPING | {table.deleted_column}
    extra = tuple(c for c, b in base_of.items() if b not in mapped)
    parts = []
    if extra:
        pairs = ", ".join(f"{sql.quote_literal(c)}, {as_text(c, landed[c])}" for c in extra)
        parts.append(f"json_object({pairs})")
    if table.deleted_column and table.deleted_column in landed:
        deleted = sql.quote_ident(table.deleted_column)
        text = as_text(table.deleted_column, landed[table.deleted_column])
        parts.append(
            f"case when {deleted} is not null then json_object('{DELETED_KEY}', {text}) end"
        )
    if parts:
        merged = (
            parts[0]
            if len(parts) == 1
            else (
                "nullif(json_merge_patch("
                + ", ".join(f"coalesce({p}, '{{}}'::json)" for p in parts)
                + "), '{}'::json)"
            )
        )
        columns.append(f"{merged} as _extra")
    else:
        columns.append("null::json as _extra")
    order = ", ".join(sql.quote_ident(c) for c in (table.cursor, *table.primary_key))
    columns.append(f"row_number() over (order by {order}) as _row_number")
    source = f"{sql.quote_ident(dataset)}.{sql.quote_ident(table.source_table)}"
    # a row re-read in the lag window may sit here twice: keep one per key
    keys = ", ".join(sql.quote_ident(c) for c in table.primary_key)
    deduped = (
        f"(select * from {source} qualify row_number() over "
        f"(partition by {keys} order by {sql.quote_ident(table.cursor)} desc) = 1)"
    )
    return f"select {', '.join(columns)} from {deduped}", extra


def _content_hash(columns: Sequence[str], alias: str) -> str:
    return "hash(" + ", ".join(f"{alias}.{sql.quote_ident(c)}" for c in columns) + ")"


def move_to_raw_sql(
    table: ShopTable, landed_select: str, contract_columns: Sequence[str], address: str
) -> str:
    """INSERT the landed rows that differ from the latest raw version of their key."""
    raw = f"{sql.RAW_SCHEMA}.{sql.quote_ident(table.raw_table)}"
    key = table.raw_key
    key_list = ", ".join(sql.quote_ident(c) for c in key)
    compared = [*contract_columns, "_extra"]
    join_on = " and ".join(f"l.{sql.quote_ident(c)} = r.{sql.quote_ident(c)}" for c in key)
    semi = " and ".join(f"k.{sql.quote_ident(c)} = {raw}.{sql.quote_ident(c)}" for c in key)
    return (
        f"{raw_insert_prefix(table.raw_table)}"
        f"with landed as ({landed_select}), "
        f"latest as (select * from {raw} where exists (select 1 from landed k where {semi}) "
        f"qualify row_number() over (partition by {key_list} "
        f"order by _loaded_at desc, _load_id desc) = 1) "
        # `_row_number` keeps the position in the extract (gaps where unchanged rows were
        # left out): numbering again would sort every landed row a second time
        f"select l.*, "
        f"$load_id as _load_id, {sql.quote_literal(address)} as _source_file, "
        f"$loaded_at::timestamp as _loaded_at "
        f"from landed l left join latest r on {join_on} "
        f"where r.{sql.quote_ident(key[0])} is null "
        f"or {_content_hash(compared, 'l')} <> {_content_hash(compared, 'r')}"
    )


# -- hard deletes ----------------------------------------------------------------------------


def _load_source_keys(
    con: duckdb.DuckDBPyConnection, config: PostgresExtractConfig, table: ShopTable
) -> str:
    """The source's primary keys (as text, like raw) in a temp table, read with connectorx.

    connectorx fetches the key set straight into Arrow (binary protocol, no Python object per
    row): 3.2M keys take about a second, where a per-row COPY loop took half a minute.
    """
    import connectorx as cx

    keys = ", ".join(
        f'"{c}"::text as {sql.quote_ident(raw)}'
        for c, raw in zip(table.primary_key, table.raw_key, strict=True)
    )
    query = f'select {keys} from "{config.schema}"."{table.source_table}"'
    arrow = cx.read_sql(_psycopg_url(config.database_url), query, return_type="arrow")
    temp = f"_c360_source_keys_{table.source_table}"
    con.register("_c360_source_keys_arrow", arrow)
    try:
        con.execute(f"create or replace temp table {temp} as select * from _c360_source_keys_arrow")
    finally:
        con.unregister("_c360_source_keys_arrow")
    return temp


def _reconcile_due(
    con: duckdb.DuckDBPyConnection, config: PostgresExtractConfig, table: ShopTable, address: str
) -> tuple[bool, str | None]:
    """Whether this run reconciles `table`'s keys, and a note when it does not."""
    if not config.reconcile_deletes or not _holds_source_rows(con, table, address):
        return False, None
    if config.reconcile_interval_seconds <= 0:
        return True, None
    last = con.execute(
        "select max(reconciled_at) from audit.live_reconciliations where address = ?", [address]
    ).fetchall()[0][0]
    now = datetime.now(UTC).replace(tzinfo=None)
    if last is None or (now - last).total_seconds() >= config.reconcile_interval_seconds:
        return True, None
    return False, (
        f"hard-delete reconciliation not due (last at {last.isoformat(timespec='seconds')}, "
        f"every {config.reconcile_interval_seconds:.0f}s)"
    )


def _holds_source_rows(con: duckdb.DuckDBPyConnection, table: ShopTable, address: str) -> bool:
    """Whether raw already holds rows from this source (else there is nothing to reconcile)."""
    raw = f"{sql.RAW_SCHEMA}.{sql.quote_ident(table.raw_table)}"
    found = con.execute(f"select 1 from {raw} where _source_file = ? limit 1", [address])
    return bool(found.fetchall())


def tombstones_sql(table: ShopTable, source_keys: str, address: str) -> str:
    """Tombstone versions for keys whose latest raw version came from here and are gone.

    A tombstone repeats the last version's values (so it passes the same quality rules) with
    `_extra.deleted_at` set to when the delete was seen and `_extra.deleted_in_source`.
    """
    raw = f"{sql.RAW_SCHEMA}.{sql.quote_ident(table.raw_table)}"
    key_list = ", ".join(sql.quote_ident(c) for c in table.raw_key)
    seen_at = "strftime(timezone('UTC', $loaded_at::timestamptz), '%Y-%m-%dT%H:%M:%S.%fZ')"
    mark = (
        "json_merge_patch(coalesce(_extra, '{}'::json), json_object("
        f"'{DELETED_KEY}', coalesce(json_extract_string(_extra, '$.{DELETED_KEY}'), {seen_at}), "
        "'deleted_in_source', true))"
    )
    source_file = sql.quote_literal(address)
    gone_on = " and ".join(
        f"g.{sql.quote_ident(c)} = r.{sql.quote_ident(c)}" for c in table.raw_key
    )
    # the anti-join runs on the keys alone; only the few gone keys' versions are ranked
    return (
        f"{raw_insert_prefix(table.raw_table)}"
        f"with gone as (select {key_list} from {raw} where _source_file = {source_file} "
        f"except select {key_list} from {source_keys}) "
        f"select * replace ($load_id as _load_id, $loaded_at::timestamp as _loaded_at, "
        f"{mark} as _extra, row_number() over (order by {key_list}) as _row_number) "
        f"from (select r.* from {raw} r where r._source_file = {source_file} "
        f"and exists (select 1 from gone g where {gone_on}) "
        f"qualify row_number() over (partition by {key_list} "
        f"order by _loaded_at desc, _load_id desc) = 1) as latest "
        f"where coalesce(json_extract(_extra, '$.deleted_in_source')::boolean, false) = false"
    )


# -- the extract -----------------------------------------------------------------------------


@dataclass
class ShopExtractReport:
    run_id: str
    tables: list[TableOutcome]
    seconds: float
    #: wall seconds per stage: dlt (read + land), keys (source key sets), move (into raw,
    #: tombstones), quarantine (quality rules)
    stages: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        head = f"shop database extract {self.run_id}: {self.seconds:.1f}s"
        return "\n".join([head, *(f"  {t.describe()}" for t in self.tables)])

    def total(self, counter: str) -> int:
        return sum(int(getattr(t, counter)) for t in self.tables)


def address_of(config: PostgresExtractConfig, table: ShopTable) -> str:
    return f"postgres:{config.schema}.{table.source_table}"


def _ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(
        "create table if not exists audit.live_source_columns (source_table varchar, "
        "ordinal integer, column_name varchar, data_type varchar, seen_at timestamp)"
    )
    con.execute(
        "create table if not exists audit.live_reconciliations (address varchar, "
        "reconciled_at timestamp)"
    )


def extract_shop_database(
    con: duckdb.DuckDBPyConnection,
    config: PostgresExtractConfig,
    run_id: str | None = None,
    *,
    on_chunk: ChunkHook | None = None,
) -> ShopExtractReport:
    """Extract the shop database into raw; see the module docstring for what that means."""
    started = time.perf_counter()
    run_id = run_id or uuid.uuid4().hex
    ensure_live_tables(con, [t.raw_table for t in config.tables])
    _ensure_state_tables(con)
    drift: dict[str, tuple[list[str], tuple[str, ...], dict[str, str]]] = {}
    remembered: dict[str, dict[str, str]] = {}
    try:
        check_reachable(config)
        for table in config.tables:
            now_columns = source_columns(config, table)
            remembered[table.source_table] = _remembered_columns(con, table)
            notes, extra = drift_notes(table, remembered[table.source_table], now_columns)
            drift[table.source_table] = (notes, extra, now_columns)
        tick = time.perf_counter()
        before, after = run_dlt(
            con, config, {name: d[2] for name, d in drift.items()}, on_chunk=on_chunk
        )
        stages = {"dlt": time.perf_counter() - tick, "keys": 0.0, "move": 0.0, "quarantine": 0.0}
    except LiveSourceError as exc:
        for table in config.tables:
            failed = TableOutcome(
                source=SOURCE,
                raw_table=table.raw_table,
                address=address_of(config, table),
                load_id=f"{SOURCE}-db-{run_id[:12]}-{table.source_table}",
                notes=[str(exc)],
                status="failed",
                seconds=time.perf_counter() - started,
            )
            write_audit(con, failed, run_id)
        raise
    outcomes: list[TableOutcome] = []
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    for table in config.tables:
        tick = time.perf_counter()
        notes, _, now_columns = drift[table.source_table]
        outcome = TableOutcome(
            source=SOURCE,
            raw_table=table.raw_table,
            address=address_of(config, table),
            load_id=f"{SOURCE}-db-{run_id[:12]}-{table.source_table}",
            cursor_before=before[table.source_table],
            cursor_after=after[table.source_table],
            notes=list(notes),
            status="pending",
        )
        reconcile, not_due = _reconcile_due(con, config, table, outcome.address)
        if not_due:
            outcome.notes.append(not_due)
        source_keys = _load_source_keys(con, config, table) if reconcile else None
        stages["keys"] += time.perf_counter() - tick
        moved = time.perf_counter()
        _move_table(con, config, table, outcome, source_keys, loaded_at, run_id)
        if now_columns != remembered[table.source_table]:
            _remember_columns(con, table, now_columns)
        stages["move"] += time.perf_counter() - moved
        checked = time.perf_counter()
        outcome.rows_quarantined = quarantine_rows(con, table.raw_table, outcome.load_id)
        stages["quarantine"] += time.perf_counter() - checked
        outcome.status = "loaded"
        outcome.seconds = time.perf_counter() - tick
        con.execute(
            "update audit.load_audit set status = 'loaded', rows_quarantined = ?, seconds = ? "
            "where load_id = ?",
            [outcome.rows_quarantined, outcome.seconds, outcome.load_id],
        )
        outcomes.append(outcome)
    return ShopExtractReport(run_id, outcomes, time.perf_counter() - started, stages)


def _move_table(
    con: duckdb.DuckDBPyConnection,
    config: PostgresExtractConfig,
    table: ShopTable,
    outcome: TableOutcome,
    source_keys: str | None,
    loaded_at: datetime,
    run_id: str,
) -> None:
    """In one transaction: landed rows -> raw (changed ones only), tombstones, purge, audit."""
    contract_columns = CONTRACT[table.raw_table].column_names
    landed = _landed_columns(con, config.dataset, table.source_table)
    params = {"load_id": outcome.load_id, "loaded_at": loaded_at}
    con.execute("begin transaction")
    try:
        if landed:
            dataset_table = (
                f"{sql.quote_ident(config.dataset)}.{sql.quote_ident(table.source_table)}"
            )
            outcome.rows_read = int(
                con.execute(f"select count(*) from {dataset_table}").fetchone()[0]
            )
            select, extra = landed_select_sql(table, config.dataset, landed, contract_columns)
            outcome.extra_columns = extra
            move = move_to_raw_sql(table, select, contract_columns, outcome.address)
            outcome.rows_loaded = int(con.execute(move, params).fetchone()[0])
            outcome.rows_blocked = block_erased(
                con, table.raw_table, outcome.load_id, config.tombstone_key
            )
            outcome.rows_loaded -= outcome.rows_blocked
            con.execute(f"delete from {dataset_table}")
        if source_keys is not None:
            tombstones = tombstones_sql(table, source_keys, outcome.address)
            outcome.rows_deleted = int(con.execute(tombstones, params).fetchone()[0])
            con.execute(
                "insert into audit.live_reconciliations values (?, ?)",
                [outcome.address, loaded_at],
            )
        outcome.rows_unchanged = outcome.rows_read - outcome.rows_loaded
        if outcome.extra_columns and outcome.rows_loaded:
            outcome.notes.append(
                f"source columns kept in _extra: {', '.join(outcome.extra_columns)}"
            )
        write_audit(con, outcome, run_id)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise

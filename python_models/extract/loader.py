"""Load landing files into `raw.<table>` with DuckDB's own readers, exactly once per content.

For every file matching a contract glob, the loader hashes it (SHA-256) and skips it when that
content is already in `audit.load_audit` (or was rejected and has not changed). Otherwise it
reads the file with every column as VARCHAR in one set-based INSERT…SELECT, adds the `_`
metadata columns of the contract, keeps unknown columns in `_extra`, and sends rows the reader
cannot split to `quarantine.<table>` with their raw line. A file that cannot be loaded at all
(empty, truncated gzip, not UTF-8, wrong delimiter, no header, not NDJSON, a required column
missing) is recorded in `audit.rejected_files` with a human reason and left where it is; the
other files still load. After each file the caller's quarantine step (the quality package's
`quarantine_load`, handed in by the Dagster asset or the CLI) evaluates the blocking rules on
the new rows.

Each file is loaded in two short transactions around `quarantine_load` (which runs its own):
the first writes the rows and a `pending` audit row, the second the unparseable rows and the
final counts. A file left `pending` by a crash is cleaned up and loaded again on the next run.
Several files load at once (`workers`, default 2), each on its own cursor with its own
transactions: DuckDB appends from concurrent transactions do not conflict, and every other
write of a load touches only that load's rows. Files that might hold the same content load one
after another, so the warehouse ends up exactly as a one-file-at-a-time run leaves it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from python_models.contract import RawTable, tables_for
from python_models.extract import sql

QuarantineFn = Callable[[duckdb.DuckDBPyConnection, str, str], int]
FileStatus = Literal["loaded", "rejected", "already_loaded", "unchanged_rejected"]

# Temporary tables on the loader's connection; recreated for every file.
_REJECTS = ("_c360_reject_errors", "_c360_reject_scans")
_REJECTED_ROWS = "_c360_rejected_rows"
_NDJSON_STAGE = "_c360_ndjson_lines"
_CSV_STAGE = "_c360_csv_rows"
_ROW_NUMBER_SHIFTS = "_c360_row_number_shifts"
_THIS_LOAD = "_load_id = $load_id"
#: concurrent file loads: two keep both cores of the reference machine busy, since the gzip
#: decompression of one NDJSON file is single-threaded in DuckDB.
DEFAULT_WORKERS = 2


class FileRejected(Exception):
    """A landing file that cannot be loaded; `reason` is shown to whoever fixes the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one landing file in one run."""

    source: str
    table: str
    file_path: str
    checksum: str
    status: FileStatus
    load_id: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_quarantined: int = 0
    extra_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    reason: str | None = None
    seconds: float = 0.0

    def describe(self) -> str:
        if self.status == "rejected":
            return f"REJECTED {self.file_path}: {self.reason}"
        if self.status != "loaded":
            return f"skipped {self.file_path} ({self.status.replace('_', ' ')})"
        notes = [
            f"{self.rows_loaded} rows loaded",
            f"{self.rows_rejected} unparseable",
            f"{self.rows_quarantined} quarantined",
        ]
        if self.extra_columns:
            notes.append(f"extra columns kept in _extra: {', '.join(self.extra_columns)}")
        if self.missing_columns:
            notes.append(f"optional columns absent or empty: {', '.join(self.missing_columns)}")
        return f"loaded {self.file_path} into raw.{self.table}: {'; '.join(notes)}"


@dataclass
class LoadReport:
    """Every file seen by one `load_landing_dir` call, in load order."""

    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    #: files in a source system's folder that match none of its globs (misnamed? never loaded)
    unrecognised: list[str] = field(default_factory=list)

    def with_status(self, *statuses: FileStatus) -> list[FileOutcome]:
        return [f for f in self.files if f.status in statuses]

    @property
    def loaded(self) -> list[FileOutcome]:
        return self.with_status("loaded")

    @property
    def rejected(self) -> list[FileOutcome]:
        return self.with_status("rejected")

    def for_table(self, table: str) -> LoadReport:
        return LoadReport(self.run_id, [f for f in self.files if f.table == table])

    def total(self, counter: str) -> int:
        """Sum of a per-file counter (`rows_loaded`, `rows_rejected`, …) over loaded files."""
        return sum(int(getattr(f, counter)) for f in self.loaded)

    def summary(self) -> str:
        head = (
            f"run {self.run_id}: {len(self.loaded)} file(s) loaded "
            f"({self.total('rows_loaded')} rows), {len(self.rejected)} rejected, "
            f"{len(self.files) - len(self.loaded) - len(self.rejected)} skipped"
        )
        ignored = [
            f"  IGNORED {u}: matches no landing glob of its source" for u in self.unrecognised
        ]
        return "\n".join([head, *(f"  {f.describe()}" for f in self.files), *ignored])


def file_checksum(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def load_id_for(table: RawTable, checksum: str) -> str:
    """The contract's load id: `<source>-<checksum[:12]>`."""
    return f"{table.source}-{checksum[:12]}"


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: Any = None) -> list[tuple]:
    if isinstance(params, dict):  # DuckDB refuses named parameters a statement does not use
        params = {k: v for k, v in params.items() if f"${k}" in query}
    return con.execute(query, params).fetchall()


def _existing_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in _rows(
            con,
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
    ]


def _ensure_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: Sequence[tuple[str, str]]
) -> None:
    qualified = f"{schema}.{sql.quote_ident(table)}"
    existing = _existing_columns(con, schema, table)
    if not existing:
        con.execute(sql.create_table_sql(qualified, columns))
        return
    for statement in sql.add_missing_columns_sql(qualified, columns, existing):
        con.execute(statement)


def ensure_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[RawTable]) -> None:
    """Create (or add new contract columns to) the raw, quarantine and audit tables."""
    for schema in (sql.RAW_SCHEMA, sql.QUARANTINE_SCHEMA, sql.AUDIT_SCHEMA):
        con.execute(f"create schema if not exists {schema}")
    _ensure_table(con, sql.AUDIT_SCHEMA, "load_audit", sql.LOAD_AUDIT_COLUMNS)
    _ensure_table(con, sql.AUDIT_SCHEMA, "rejected_files", sql.REJECTED_FILES_COLUMNS)
    for table in tables:
        _ensure_table(con, sql.RAW_SCHEMA, table.table, sql.raw_columns(table))
        _ensure_table(con, sql.QUARANTINE_SCHEMA, table.table, sql.quarantine_columns(table))


def load_landing_dir(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path | str,
    source: str | None = None,
    run_id: str | None = None,
    *,
    quarantine: QuarantineFn,
    tables: Sequence[RawTable] | None = None,
    retry_rejected: bool = False,
    max_unparseable_share: float = 0.5,
    workers: int = DEFAULT_WORKERS,
) -> LoadReport:
    """Load every new landing file of `source` (all sources when None) into `raw`.

    Args:
        con: a read-write connection to the warehouse (must not be inside a transaction).
        landing_dir: the folder holding one sub-folder per source system.
        source: a source system of the raw contract (crm, web, …) or None for all of them.
        run_id: recorded in the audit tables (the Dagster run id); a uuid when not given.
        quarantine: `(con, table, load_id) -> rows quarantined`, run on every new load: the
            caller passes the quality package's `quarantine_load` (the extract does not
            import the quality package, which itself reads the raw tables the extract makes).
        tables: contract entries to load instead of the whole raw contract (tests, new
            sources).
        retry_rejected: also retry files whose unchanged content was rejected before (after
            a fix to the contract, say). Changed files are always retried.
        max_unparseable_share: a file where more than this share of rows cannot be split into
            columns is rejected whole rather than loaded with most of it quarantined.
        workers: files loaded at the same time, each on its own cursor of `con` in its own
            transactions (DuckDB appends from several transactions do not conflict). The
            warehouse content is the same for any number; see `concurrent_groups`.

    Returns:
        A `LoadReport` naming every file seen, what happened to it and why.
    """
    root = Path(landing_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"landing dir {root} does not exist")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    selected = list(tables) if tables is not None else tables_for(source)
    if tables is not None and source is not None:
        selected = [t for t in selected if t.source == source]
    report = LoadReport(run_id or uuid.uuid4().hex)
    _prepare_session(con)
    ensure_tables(con, selected)
    files: list[tuple[RawTable, Path]] = []
    for table in selected:
        files += [(table, p) for p in sorted(root.glob(table.glob)) if p.is_file()]

    def load_group(cursor: duckdb.DuckDBPyConnection, group: list[int]) -> list[FileOutcome]:
        _prepare_session(cursor)
        return [
            load_file(
                cursor,
                *files[i],
                root,
                report.run_id,
                quarantine,
                retry_rejected=retry_rejected,
                max_unparseable_share=max_unparseable_share,
            )
            for i in group
        ]

    outcomes: dict[int, FileOutcome] = {}
    groups = concurrent_groups([(t.table, p.stat().st_size) for t, p in files])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract") as pool:
        running = [(group, pool.submit(_on_own_cursor, con, load_group, group)) for group in groups]
        try:
            for group, future in running:
                outcomes.update(zip(group, future.result(), strict=True))
        except BaseException:
            pool.shutdown(cancel_futures=True)  # let running loads finish, start no new ones
            raise
    report.files = [outcomes[i] for i in range(len(files))]
    matched = {p for _, p in files}
    report.unrecognised = unrecognised_files(root, selected, matched)
    return report


def _prepare_session(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set enable_progress_bar = false")  # keeps Dagster's captured stdout readable
    # `_row_number` is row_number() over the reader's output, which is file order only while
    # DuckDB preserves insertion order (its default; make sure nobody turned it off).
    con.execute("set preserve_insertion_order = true")


def _on_own_cursor(
    con: duckdb.DuckDBPyConnection,
    work: Callable[[duckdb.DuckDBPyConnection, list[int]], list[FileOutcome]],
    group: list[int],
) -> list[FileOutcome]:
    # A cursor is a connection of its own (own transactions and temp tables) to the same
    # database, so loads on different cursors can run at once.
    with con.cursor() as cursor:
        return work(cursor, group)


def concurrent_groups(files: Sequence[tuple[str, int]]) -> list[list[int]]:
    """Split files, given as (raw table, size in bytes), into groups that may load concurrently.

    Files of one table with the same size may hold the same content, which must load once:
    they share a group and load one after another, in the given order, so the later ones find
    the first in the audit. Groups come largest first, so the long loads start early and the
    small ones fill in around them.
    """
    groups: dict[tuple[str, int], list[int]] = {}
    for index, key in enumerate(files):
        groups.setdefault(key, []).append(index)
    return sorted(groups.values(), key=lambda g: (-sum(files[i][1] for i in g), g[0]))


def unrecognised_files(root: Path, tables: Sequence[RawTable], matched: set[Path]) -> list[str]:
    """Visible files under the selected source folders that no glob picked up."""
    folders = {root / t.glob.split("/")[0] for t in tables if "/" in t.glob}
    found = []
    for folder in sorted(folders):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            relative = path.relative_to(root)
            hidden = any(part.startswith((".", "_")) for part in relative.parts)
            if path.is_file() and not hidden and path not in matched:
                found.append(relative.as_posix())
    return found


def _previous_state(
    con: duckdb.DuckDBPyConnection, table: RawTable, checksum: str
) -> tuple[str, str | None] | None:
    """('loaded'|'pending', load_id) or ('rejected', None) for content seen before."""
    audit = _rows(
        con,
        "select status, load_id from audit.load_audit where raw_table = ? and checksum = ? "
        "order by status = 'loaded' desc limit 1",
        [table.table, checksum],
    )
    if audit:
        return audit[0][0], audit[0][1]
    rejected = _rows(
        con,
        "select 1 from audit.rejected_files where raw_table = ? and checksum = ? limit 1",
        [table.table, checksum],
    )
    return ("rejected", None) if rejected else None


def _discard_load(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: str) -> None:
    """Remove every trace of an unfinished load so it can run again from scratch."""
    with contextlib.suppress(duckdb.Error):  # a failed caller may have left one open
        con.execute("rollback")
    con.execute("begin transaction")
    for schema in (sql.RAW_SCHEMA, sql.QUARANTINE_SCHEMA):
        con.execute(
            f"delete from {schema}.{sql.quote_ident(table.table)} where _load_id = ?", [load_id]
        )
    con.execute("delete from audit.load_audit where load_id = ?", [load_id])
    con.execute("commit")


def load_file(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    path: Path,
    landing_dir: Path,
    run_id: str,
    quarantine: QuarantineFn,
    *,
    retry_rejected: bool = False,
    max_unparseable_share: float = 0.5,
) -> FileOutcome:
    """Load one landing file (or skip or reject it) and say what happened."""
    started = time.perf_counter()
    relative = path.relative_to(landing_dir).as_posix()
    checksum = file_checksum(path)
    base: dict[str, Any] = {
        "source": table.source,
        "table": table.table,
        "file_path": relative,
        "checksum": checksum,
    }
    previous = _previous_state(con, table, checksum)
    if previous and previous[0] == "loaded":
        return FileOutcome(**base, status="already_loaded", load_id=previous[1])
    if previous and previous[0] == "rejected" and not retry_rejected:
        return FileOutcome(**base, status="unchanged_rejected")
    load_id = load_id_for(table, checksum)
    if previous and previous[0] == "pending":
        _discard_load(con, table, load_id)
    try:
        return _load_new_file(
            con, table, path, base, load_id, run_id, quarantine, max_unparseable_share, started
        )
    finally:
        _drop_temp_tables(con)  # the NDJSON stage can be large; free it now


def _load_new_file(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    path: Path,
    base: dict[str, Any],
    load_id: str,
    run_id: str,
    quarantine: QuarantineFn,
    max_unparseable_share: float,
    started: float,
) -> FileOutcome:
    """Rows + pending audit (one transaction), quality rules, then unparseable rows + final
    counts (a second transaction)."""
    relative, checksum = base["file_path"], base["checksum"]
    params = {
        "load_id": load_id,
        "source_file": relative,
        "loaded_at": datetime.now(UTC).replace(tzinfo=None),
    }

    def record_pending(counts: _Counts) -> None:
        _record_audit(con, table, counts, params, checksum, path, run_id, _since(started))

    try:
        counts = _write_rows(con, table, path, params, max_unparseable_share, record_pending)
    except FileRejected as rejected:
        _record_rejection(con, table, relative, checksum, rejected.reason, run_id)
        return FileOutcome(
            **base, status="rejected", reason=rejected.reason, seconds=_since(started)
        )
    try:
        quarantined = int(quarantine(con, table.table, load_id))
    except Exception:
        _discard_load(con, table, load_id)  # try the whole file again next run
        raise
    seconds = _since(started)
    con.execute("begin transaction")
    if counts.rows_rejected:
        unparseable = sql.quarantine_unparseable_sql(table, f"select * from {_REJECTED_ROWS}")
        _rows(con, unparseable, params)
    con.execute(
        "update audit.load_audit set rows_quarantined = ?, seconds = ?, status = 'loaded' "
        "where load_id = ?",
        [quarantined, seconds, load_id],
    )
    con.execute("commit")
    return FileOutcome(
        **base,
        status="loaded",
        load_id=load_id,
        rows_read=counts.rows_read,
        rows_loaded=counts.rows_loaded,
        rows_rejected=counts.rows_rejected,
        rows_quarantined=quarantined,
        extra_columns=counts.extra_columns,
        missing_columns=counts.missing_columns,
        seconds=seconds,
    )


def _drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for temp in (*_REJECTS, _REJECTED_ROWS, _NDJSON_STAGE, _CSV_STAGE, _ROW_NUMBER_SHIFTS):
        con.execute(f"drop table if exists {sql.quote_ident(temp)}")


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


@dataclass(frozen=True)
class _Counts:
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    extra_columns: tuple[str, ...]
    missing_columns: tuple[str, ...]


def _check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as handle:
                first = handle.read(1)
        except (OSError, EOFError, zlib.error) as error:
            raise FileRejected(f"not a readable gzip file ({error})") from error
        if not first:
            raise FileRejected("empty file (the gzip stream holds no data)")


def _explain_read_error(error: duckdb.Error) -> str:
    message = str(error).splitlines()[0]
    lowered = message.lower()
    if "gzip" in lowered and ("end" in lowered or "truncat" in lowered):
        return f"truncated gzip: the compressed stream ends early, upload incomplete? ({message})"
    if "gzip" in lowered:
        return f"corrupt gzip file ({message})"
    if "unicode" in lowered or "utf-8" in lowered or "encoding" in lowered:
        return f"not UTF-8 encoded ({message})"
    if "sniffing" in lowered:
        return (
            "not parseable as CSV (',' delimiter, '\"' quotes, UTF-8): no consistent rows found; "
            f"an unclosed quote or another dialect? ({message})"
        )
    return f"unreadable file ({message})"


def _write_rows(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    path: Path,
    params: dict[str, Any],
    max_unparseable_share: float,
    record_pending: Callable[[_Counts], None],
) -> _Counts:
    """Insert the file's rows and its `pending` audit row in one transaction.

    Raises FileRejected (after rolling back) when the file cannot be loaded.
    """
    _check_not_empty(path)
    _drop_temp_tables(con)
    header_plan = _csv_plan(con, table, path) if table.format == "csv" else None
    if table.format == "parquet":
        header_plan = _parquet_plan(con, table, path)
    for temp in _REJECTS:
        con.execute(f"drop table if exists {sql.quote_ident(temp)}")
    con.execute("begin transaction")
    try:
        counts = _insert(con, table, path, params, header_plan)
        _judge(table, counts, con, max_unparseable_share)
        record_pending(counts)
        con.execute("commit")
    except FileRejected:
        con.execute("rollback")
        raise
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException) as e:
        con.execute("rollback")
        raise FileRejected(_explain_read_error(e)) from e
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def _csv_plan(con: duckdb.DuckDBPyConnection, table: RawTable, path: Path) -> sql.ColumnPlan:
    try:
        # With rejects on, the sniffer tolerates ragged rows (they are dealt with later).
        reader = sql.csv_reader_sql(str(path), rejects=_REJECTS)
        described = _rows(con, f"describe select * from {reader}")
        header = [r[0] for r in described]
    except (duckdb.IOException, duckdb.InvalidInputException) as error:
        raise FileRejected(_explain_read_error(error)) from error
    plan = sql.plan_columns(header, table)
    if plan.missing_required:
        raise FileRejected(sql.explain_missing_columns(header, table, plan))
    return plan


def _parquet_plan(con: duckdb.DuckDBPyConnection, table: RawTable, path: Path) -> sql.ColumnPlan:
    try:
        reader = f"read_parquet({sql.quote_literal(str(path))})"
        header = [r[0] for r in _rows(con, f"describe select * from {reader}")]
    except (duckdb.IOException, duckdb.InvalidInputException) as error:
        raise FileRejected(f"unreadable Parquet file ({str(error).splitlines()[0]})") from error
    plan = sql.plan_columns(header, table)
    if plan.missing_required:
        raise FileRejected(sql.explain_missing_columns(header, table, plan))
    return plan


def _scalar(con: duckdb.DuckDBPyConnection, query: str, params: Any = None) -> Any:
    return _rows(con, query, params)[0][0]


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    path: Path,
    params: dict[str, Any],
    plan: sql.ColumnPlan | None,
) -> _Counts:
    if table.format == "ndjson":
        return _insert_ndjson(con, table, path, params)
    assert plan is not None, "csv and parquet files are planned from their header"
    if table.format == "parquet":
        loaded = _scalar(con, sql.parquet_insert_sql(table, plan, str(path)), params)
        return _Counts(loaded, loaded, 0, plan.extra, plan.missing_optional)
    return _insert_csv(con, table, path, params, plan)


def _insert_csv(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    path: Path,
    params: dict[str, Any],
    plan: sql.ColumnPlan,
) -> _Counts:
    """Stage the parsed rows (one read), then one INSERT with their row numbers in the file.

    Rows that do not split are kept aside, not failed; knowing them before the INSERT lets it
    write each `_row_number` once instead of updating every loaded row afterwards.
    """
    reader = sql.csv_reader_sql(str(path), rejects=_REJECTS)
    con.execute(sql.csv_stage_sql(_CSV_STAGE, reader))
    con.execute(
        f"create temp table {_REJECTED_ROWS} as "
        f"{sql.rejected_rows_sql(_REJECTS[0], header_lines=1)}"
    )
    rejected = _scalar(con, f"select count(*) from {_REJECTED_ROWS}")
    con.execute(
        f"create temp table {_ROW_NUMBER_SHIFTS} as {sql.row_number_shifts_sql(_REJECTED_ROWS)}"
    )
    stage = sql.quote_ident(_CSV_STAGE)
    loaded = _scalar(con, sql.csv_insert_sql(table, plan, stage, _ROW_NUMBER_SHIFTS), params)
    return _Counts(loaded + rejected, loaded, rejected, plan.extra, plan.missing_optional)


def _insert_ndjson(
    con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, params: dict[str, Any]
) -> _Counts:
    """Stage the lines once (one decompression), then insert the JSON objects among them.

    Lines that are not JSON objects are kept aside whole; a required key that no line carries
    rejects the file, since NDJSON has no header to check up front.
    """
    target = f"{sql.RAW_SCHEMA}.{sql.quote_ident(table.table)}"
    lines_reader = sql.ndjson_lines_reader_sql(str(path), _REJECTS)
    staged = _scalar(con, sql.ndjson_stage_sql(_NDJSON_STAGE, lines_reader))
    if not staged and not _scalar(con, f"select count(*) from {_REJECTS[0]}"):
        raise FileRejected("empty file (no lines)")
    con.execute(
        f"create temp table {_REJECTED_ROWS} as "
        f"{sql.rejected_rows_sql(_REJECTS[0], header_lines=0)}"
    )
    if _scalar(con, f"select count(*) from {_REJECTED_ROWS}"):
        con.execute(sql.shift_row_numbers_sql(_NDJSON_STAGE, _REJECTED_ROWS, column="rn"))
    loaded = _scalar(con, sql.ndjson_insert_sql(table, _NDJSON_STAGE), params)
    if loaded < staged:  # some lines are not JSON objects: keep them whole
        con.execute(
            f"insert into {_REJECTED_ROWS} (row_number, raw_line, errors) "
            f"{sql.ndjson_broken_lines_sql(_NDJSON_STAGE)}"
        )
    rejected = _scalar(con, f"select count(*) from {_REJECTED_ROWS}")
    present = _rows(
        con,
        f"select {', '.join(f'count({sql.quote_ident(c)})' for c in table.column_names)} "
        f"from {target} where {_THIS_LOAD}",
        params,
    )[0]
    absent = tuple(c for c, n in zip(table.column_names, present, strict=True) if n == 0)
    extra = tuple(
        r[0]
        for r in _rows(
            con,
            f"select distinct unnest(json_keys(_extra)) as k from {target} "
            f"where {_THIS_LOAD} and _extra is not null order by k",
            params,
        )
    )
    if loaded:
        missing_required = [c for c in table.required if c in absent]
        if missing_required:
            raise FileRejected(
                f"missing required column(s): {', '.join(missing_required)} "
                f"(absent or null on every line)"
            )
    missing_optional = tuple(c for c in absent if c not in table.required) if loaded else ()
    return _Counts(loaded + rejected, loaded, rejected, extra, missing_optional)


def _judge(
    table: RawTable,
    counts: _Counts,
    con: duckdb.DuckDBPyConnection,
    max_unparseable_share: float,
) -> None:
    """Reject files whose broken rows say the whole file is wrong, not a few rows."""
    if not counts.rows_rejected:
        return
    first = _rows(
        con,
        f"select row_number, errors, coalesce(bad_encoding, false) from {_REJECTED_ROWS} "
        f"order by bad_encoding desc nulls last, row_number limit 1",
    )[0]
    if first[2]:
        raise FileRejected(
            f"not UTF-8 encoded (row {first[0]}: invalid byte sequence; latin-1/cp1252 "
            f"export?): re-export the file as UTF-8"
        )
    if counts.rows_loaded == 0 or counts.rows_rejected > max_unparseable_share * counts.rows_read:
        kind = "NDJSON" if table.format == "ndjson" else "CSV"
        raise FileRejected(
            f"not valid {kind}: {counts.rows_rejected} of {counts.rows_read} rows could not be "
            f"parsed (first: row {first[0]}: {first[1]})"
        )


def _record_audit(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    counts: _Counts,
    params: dict[str, Any],
    checksum: str,
    path: Path,
    run_id: str,
    seconds: float,
) -> None:
    """Write the `pending` audit row; it turns `loaded` once quarantine has run."""
    con.execute(
        "insert into audit.load_audit by name select "
        "? as load_id, ? as source, ? as raw_table, ? as file_path, ? as checksum, "
        "? as file_bytes, ? as rows_read, ? as rows_loaded, ? as rows_rejected, "
        "null as rows_quarantined, ?::varchar[] as extra_columns, "
        "?::varchar[] as missing_columns, ? as seconds, ? as loaded_at, ? as run_id, "
        "'pending' as status",
        [
            params["load_id"],
            table.source,
            table.table,
            params["source_file"],
            checksum,
            path.stat().st_size,
            counts.rows_read,
            counts.rows_loaded,
            counts.rows_rejected,
            list(counts.extra_columns),
            list(counts.missing_columns),
            seconds,
            params["loaded_at"],
            run_id,
        ],
    )


def _record_rejection(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    relative: str,
    checksum: str,
    reason: str,
    run_id: str,
) -> None:
    con.execute(
        "insert into audit.rejected_files by name select ? as source, ? as raw_table, "
        "? as file_path, ? as checksum, ? as reason, "
        "current_timestamp at time zone 'UTC' as rejected_at, ? as run_id",
        [table.source, table.table, relative, checksum, reason, run_id],
    )

"""Load landing files into `raw.<table>` with DuckDB's own readers, exactly once per content.

For every file matching a contract glob (any letter case, with or without `.gz`), the loader
hashes its content (SHA-256 of the decompressed bytes, so the same rows re-compressed under
another name are recognised) and skips it when that content is already in `audit.load_audit`
(or was rejected and has not changed). Otherwise it
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

Every file under the landing dir ends a run in exactly one state, recorded in
`audit.landing_files` with the run id: `loaded`, `already_loaded` (its content was loaded
before, named), `rejected` (with the reason) or `unrecognised` (with the reason: a name that
matches no pattern, a folder that is no source system, a hidden file). The report says so.
Several files load at once (`workers`, default 2), each on its own cursor with its own
transactions: DuckDB appends from concurrent transactions do not conflict, and every other
write of a load touches only that load's rows. Files that might hold the same content load one
after another, so the warehouse ends up exactly as a one-file-at-a-time run leaves it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import time
import uuid
import zlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from python_models.contract import SOURCE_SYSTEMS, RawTable, tables_for
from python_models.contract.spec import is_compressed
from python_models.extract import sql
from python_models.privacy.tombstones import block_tombstoned_lines, block_tombstoned_rows
from python_models.warehouse import current_as_of, set_as_of

QuarantineFn = Callable[[duckdb.DuckDBPyConnection, str, str], int]
FileStatus = Literal["loaded", "rejected", "already_loaded", "unchanged_rejected"]
#: the one state each landing file ends a run in, as `audit.landing_files` records it.
LandingState = Literal["loaded", "already_loaded", "rejected", "unrecognised"]
LANDING_FILES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("state", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("source", "VARCHAR"),
    ("raw_table", "VARCHAR"),
    ("load_id", "VARCHAR"),
    ("content_checksum", "VARCHAR"),
    ("file_bytes", "BIGINT"),
    ("recorded_at", "TIMESTAMP"),
)

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
    file_bytes: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_blocked: int = 0
    rows_quarantined: int = 0
    extra_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    reason: str | None = None
    seconds: float = 0.0

    @property
    def state(self) -> LandingState:
        return "rejected" if self.status == "unchanged_rejected" else self.status

    def describe(self) -> str:
        if self.status in ("rejected", "unchanged_rejected"):
            return f"REJECTED {self.file_path}: {self.reason}"
        if self.status == "already_loaded":
            return f"skipped {self.file_path}: {self.reason or 'already loaded'}"
        notes = [
            f"{self.rows_loaded} rows loaded",
            f"{self.rows_rejected} unparseable",
            f"{self.rows_quarantined} quarantined",
        ]
        if self.rows_blocked:
            notes.append(f"{self.rows_blocked} blocked by erasure tombstones")
        if self.extra_columns:
            notes.append(f"extra columns kept in _extra: {', '.join(self.extra_columns)}")
        if self.missing_columns:
            notes.append(f"optional columns absent or empty: {', '.join(self.missing_columns)}")
        return f"loaded {self.file_path} into raw.{self.table}: {'; '.join(notes)}"


@dataclass(frozen=True)
class UnrecognisedFile:
    """A file under the landing dir that is no landing file of any raw table, and why."""

    file_path: str
    reason: str
    file_bytes: int = 0

    def describe(self) -> str:
        return f"UNRECOGNISED {self.file_path}: {self.reason}"


@dataclass
class LoadReport:
    """Every file seen by one `load_landing_dir` call, in load order."""

    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    #: files under the landing dir that no raw table takes (misnamed, unknown folder, hidden)
    unrecognised: list[UnrecognisedFile] = field(default_factory=list)

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

    def states(self) -> dict[str, int]:
        """Files per landing state, every state present (0 when none)."""
        counts = dict.fromkeys(("loaded", "already_loaded", "rejected", "unrecognised"), 0)
        for outcome in self.files:
            counts[outcome.state] += 1
        counts["unrecognised"] = len(self.unrecognised)
        return counts

    def summary(self) -> str:
        states = self.states()
        head = (
            f"run {self.run_id}: {states['loaded']} file(s) loaded "
            f"({self.total('rows_loaded')} rows), {states['already_loaded']} already loaded, "
            f"{states['rejected']} rejected, {states['unrecognised']} unrecognised"
        )
        lines = [head, *(f"  {f.describe()}" for f in self.files)]
        lines += [f"  {u.describe()}" for u in self.unrecognised]
        if self.unrecognised:
            lines.append(
                f"{len(self.unrecognised)} file(s) under the landing dir were NOT loaded "
                "because nothing recognises them (listed above, and in audit.landing_files): "
                "rename or move them, or add their table to the raw contract"
            )
        return "\n".join(lines)


def file_checksum(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Checksums:
    """`file`: SHA-256 of the bytes on disk; `content`: of the decompressed bytes (the same as
    `file` for an uncompressed file, or a gzip file too broken to decompress)."""

    file: str
    content: str


def file_checksums(path: Path, chunk_bytes: int = 1 << 20) -> Checksums:
    """Both checksums in one streamed read (the gzip stream is decompressed on the way)."""
    on_disk = hashlib.sha256()
    content = hashlib.sha256()
    inflate = zlib.decompressobj(wbits=47) if is_compressed(path.name) else None
    broken = False
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            on_disk.update(chunk)
            if inflate is None or broken:
                continue
            try:
                content.update(inflate.decompress(chunk))
                while inflate.eof and inflate.unused_data:  # a concatenated gzip member
                    rest = inflate.unused_data
                    inflate = zlib.decompressobj(wbits=47)
                    content.update(inflate.decompress(rest))
            except zlib.error:
                broken = True  # the reader rejects it with the reason; hash the bytes
    if inflate is None or broken or not inflate.eof:
        return Checksums(on_disk.hexdigest(), on_disk.hexdigest())
    return Checksums(on_disk.hexdigest(), content.hexdigest())


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
    _ensure_table(con, sql.AUDIT_SCHEMA, "landing_files", LANDING_FILES_COLUMNS)
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
    tombstone_key: bytes | None = None,
    delivery_day: date | None = None,
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
        tombstone_key: the HMAC key of the erasure tombstones (settings' privacy key). Rows
            carrying a tombstoned identifier are dropped and counted as `rows_blocked`;
            loading with tombstones present and no key raises `MissingPrivacyKey`.
        delivery_day: load only the files delivered that day, the date in their name
            (`<stem>_<YYYY-MM-DD>[_partNNNN].<ext>`; a daily partition of the extract). Files
            of other days, or with no date in their name, are left for their own run.

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
    matched = landing_files(root, selected)
    files = [(t, p) for t, p in matched if delivery_day is None or delivered_on(p) == delivery_day]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checksum") as pool:
        checksums = list(pool.map(file_checksums, [p for _, p in files]))

    def load_group(cursor: duckdb.DuckDBPyConnection, group: list[int]) -> list[FileOutcome]:
        _prepare_session(cursor)
        return [
            load_file(
                cursor,
                *files[i],
                root,
                report.run_id,
                quarantine,
                checksums=checksums[i],
                retry_rejected=retry_rejected,
                max_unparseable_share=max_unparseable_share,
                tombstone_key=tombstone_key,
            )
            for i in group
        ]

    outcomes: dict[int, FileOutcome] = {}
    as_of = current_as_of(con)  # read here: the worker threads must not share `con`
    groups = concurrent_groups(
        [
            ((t.table, c.content), p.stat().st_size)
            for (t, p), c in zip(files, checksums, strict=True)
        ]
    )
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract") as pool:
        running = [
            (group, pool.submit(_on_own_cursor, con, as_of, load_group, group)) for group in groups
        ]
        try:
            for group, future in running:
                outcomes.update(zip(group, future.result(), strict=True))
        except BaseException:
            pool.shutdown(cancel_futures=True)  # let running loads finish, start no new ones
            raise
    report.files = [outcomes[i] for i in range(len(files))]
    folders = None if source is None and tables is None else _source_folders(selected)
    report.unrecognised = unrecognised_files(root, selected, {p for _, p in matched}, folders)
    record_landing_states(con, report)
    return report


def record_files_outside_sources(
    con: duckdb.DuckDBPyConnection, landing_dir: Path | str, run_id: str
) -> LoadReport:
    """Record, for run `run_id`, the files no source system's extract looks at (in a folder
    that is no source system, or beside the folders) as unrecognised, and return them.

    The extract of one source only sees its own folders; this completes the census so that
    every file under the landing dir has a state in every full run."""
    root = Path(landing_dir).resolve()
    tables = tables_for(None)
    ensure_tables(con, [])
    folders = _source_folders(tables)
    report = LoadReport(run_id)
    report.unrecognised = [
        u
        for u in unrecognised_files(root, tables, set())
        if len(Path(u.file_path).parts) < 2 or Path(u.file_path).parts[0] not in folders
    ]
    record_landing_states(con, report)
    return report


def landing_states(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Files per landing state recorded for one run (every state present)."""
    counts = dict.fromkeys(("loaded", "already_loaded", "rejected", "unrecognised"), 0)
    counts.update(
        dict(
            _rows(
                con,
                "select state, count(*) from audit.landing_files where run_id = ? group by 1",
                [run_id],
            )
        )
    )
    return counts


def landing_files(root: Path, tables: Sequence[RawTable]) -> list[tuple[RawTable, Path]]:
    """(table, path) of every visible file under `root` that one of `tables` takes, by table
    and then path. A name matches its table's glob in any case, with or without `.gz`."""
    candidates = [
        (path, path.relative_to(root).as_posix())
        for path in sorted(root.rglob("*"))
        if path.is_file() and not _hidden(path.relative_to(root))
    ]
    return [(t, path) for t in tables for path, relative in candidates if t.matches(relative)]


# `orders_2026-11-01.csv`, `events_2026-11-01_part0007.ndjson.gz`: the day before the suffix
_DELIVERY_DAY = re.compile(r"_(\d{4}-\d{2}-\d{2})(?:_part\d+)?\.[^_]*$")


def delivered_on(path: Path | str) -> date | None:
    """The delivery day in a landing file's name, or None when its name carries no date."""
    found = _DELIVERY_DAY.search(Path(path).name)
    if found is None:
        return None
    try:
        return date.fromisoformat(found.group(1))
    except ValueError:  # 2026-13-01: not a day
        return None


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "_")) for part in relative.parts)


def _source_folders(tables: Sequence[RawTable]) -> set[str]:
    return {t.glob.split("/")[0] for t in tables if "/" in t.glob}


def _prepare_session(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set enable_progress_bar = false")  # keeps Dagster's captured stdout readable
    # `_row_number` is row_number() over the reader's output, which is file order only while
    # DuckDB preserves insertion order (its default; make sure nobody turned it off).
    con.execute("set preserve_insertion_order = true")


def _on_own_cursor(
    con: duckdb.DuckDBPyConnection,
    as_of: str | None,
    work: Callable[[duckdb.DuckDBPyConnection, list[int]], list[FileOutcome]],
    group: list[int],
) -> list[FileOutcome]:
    # A cursor is a connection of its own (own transactions, temp tables and variables) to
    # the same database, so loads on different cursors can run at once; it gets the caller's
    # as_of, which the quarantine step's rules read.
    with con.cursor() as cursor:
        set_as_of(cursor, as_of)
        return work(cursor, group)


def concurrent_groups(files: Sequence[tuple[Hashable, int]]) -> list[list[int]]:
    """Split files, given as (content key, size in bytes), into groups that may load at once.

    Files with the same key (raw table and decompressed-content checksum) hold the same
    content, which must load once: they share a group and load one after another, in the
    given order, so the later ones find the first in the audit. Groups come largest first, so
    the long loads start early and the small ones fill in around them.
    """
    groups: dict[Hashable, list[int]] = {}
    for index, (key, _size) in enumerate(files):
        groups.setdefault(key, []).append(index)
    return sorted(groups.values(), key=lambda g: (-sum(files[i][1] for i in g), g[0]))


def unrecognised_files(
    root: Path,
    tables: Sequence[RawTable],
    matched: set[Path],
    folders: set[str] | None = None,
) -> list[UnrecognisedFile]:
    """Files under `root` (only under `folders`, when given) that no table takes, with why."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or path in matched:
            continue
        if folders is not None and (len(relative.parts) < 2 or relative.parts[0] not in folders):
            continue
        found.append(
            UnrecognisedFile(
                relative.as_posix(), why_unrecognised(relative, tables), path.stat().st_size
            )
        )
    return found


def why_unrecognised(relative: Path, tables: Sequence[RawTable]) -> str:
    """A reason a person can act on for a file no raw table takes."""
    if _hidden(relative):
        return (
            "hidden file (a name part starts with '.' or '_'): taken for an upload in progress "
            "or a system file, never loaded; rename it when it is complete"
        )
    systems = sorted({t.source for t in tables} | set(SOURCE_SYSTEMS))
    if len(relative.parts) < 2:
        return (
            "not in a source system's folder: landing files go in one of "
            f"{', '.join(s + '/' for s in systems)}"
        )
    folder = relative.parts[0]
    mine = [t for t in tables if t.glob.split("/")[0] == folder]
    if not mine:
        return (
            f"folder {folder}/ is no source system of the raw contract (expected one of "
            f"{', '.join(s + '/' for s in systems)}); move the file, or add its table to "
            "python_models/contract/tables.py"
        )
    patterns = ", ".join(t.glob for t in mine)
    name = relative.as_posix().lower()
    hints = []
    for table in mine:
        folder_part, _, pattern = table.glob.lower().rpartition("/")
        stem = pattern.split("*")[0]
        extension = pattern.rpartition("*")[2].removesuffix(".gz")
        if stem and stem in relative.name.lower() and not relative.name.lower().startswith(stem):
            hints.append(f"the name has something before {stem!r}")
        elif relative.name.lower().startswith(stem) and extension not in name:
            hints.append(f"the extension is not {extension!r}")
        if len(relative.parts) > 2 and relative.name.lower().startswith(stem):
            hints.append(f"it is in a sub-folder of {folder_part}/")
    hint = f" ({'; '.join(dict.fromkeys(hints))})" if hints else ""
    return (
        f"matches no landing pattern of {folder}/ ({patterns}; any letter case, .gz optional)"
        f"{hint}: rename it to match, or it is never loaded"
    )


def record_landing_states(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """One `audit.landing_files` row per file seen by this run, in its one state."""
    recorded_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            report.run_id,
            f.file_path,
            f.state,
            f.reason,
            f.source,
            f.table,
            f.load_id,
            f.checksum,
            f.file_bytes,
            recorded_at,
        )
        for f in report.files
    ]
    rows += [
        (
            report.run_id,
            u.file_path,
            "unrecognised",
            u.reason,
            None,
            None,
            None,
            None,
            u.file_bytes,
            recorded_at,
        )
        for u in report.unrecognised
    ]
    if not rows:
        return
    names = ", ".join(name for name, _ in LANDING_FILES_COLUMNS)
    con.execute("begin transaction")
    con.execute(
        "delete from audit.landing_files where run_id = ? and file_path in (select unnest(?))",
        [report.run_id, [r[1] for r in rows]],
    )
    con.executemany(
        f"insert into audit.landing_files ({names}) values "
        f"({', '.join('?' for _ in LANDING_FILES_COLUMNS)})",
        rows,
    )
    con.execute("commit")


@dataclass(frozen=True)
class _Previous:
    status: str  # loaded, pending or rejected
    load_id: str | None
    file_path: str | None
    run_id: str | None
    reason: str | None = None


def _previous_state(
    con: duckdb.DuckDBPyConnection, table: RawTable, checksums: Checksums
) -> _Previous | None:
    """How this content was met before, if it was: loaded or pending (with its load), or
    rejected (with the reason). Audit rows written before content checksums existed hold the
    file's checksum, so both are looked up."""
    known = list(dict.fromkeys((checksums.content, checksums.file)))
    audit = _rows(
        con,
        "select status, load_id, file_path, run_id from audit.load_audit "
        "where raw_table = ? and checksum in (select unnest(?)) "
        "order by status = 'loaded' desc, loaded_at limit 1",
        [table.table, known],
    )
    if audit:
        return _Previous(*audit[0])
    rejected = _rows(
        con,
        "select file_path, run_id, reason from audit.rejected_files "
        "where raw_table = ? and checksum in (select unnest(?)) order by rejected_at desc limit 1",
        [table.table, known],
    )
    if rejected:
        return _Previous("rejected", None, *rejected[0])
    return None


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
    checksums: Checksums | None = None,
    retry_rejected: bool = False,
    max_unparseable_share: float = 0.5,
    tombstone_key: bytes | None = None,
) -> FileOutcome:
    """Load one landing file (or skip or reject it) and say what happened."""
    started = time.perf_counter()
    relative = path.relative_to(landing_dir).as_posix()
    checksums = checksums or file_checksums(path)
    checksum = checksums.content
    base: dict[str, Any] = {
        "source": table.source,
        "table": table.table,
        "file_path": relative,
        "checksum": checksum,
        "file_bytes": path.stat().st_size,
    }
    previous = _previous_state(con, table, checksums)
    if previous and previous.status == "loaded":
        same = "this file" if previous.file_path == relative else previous.file_path
        return FileOutcome(
            **base,
            status="already_loaded",
            load_id=previous.load_id,
            reason=f"same content as {same}, loaded as {previous.load_id} in run {previous.run_id}",
        )
    if previous and previous.status == "rejected" and not retry_rejected:
        return FileOutcome(
            **base,
            status="unchanged_rejected",
            reason=f"unchanged since rejected in run {previous.run_id}: {previous.reason}",
        )
    load_id = load_id_for(table, checksum)
    if previous and previous.status == "pending":
        _discard_load(con, table, previous.load_id or load_id)
    try:
        return _load_new_file(
            con,
            table,
            path,
            base,
            load_id,
            run_id,
            quarantine,
            max_unparseable_share,
            started,
            checksums.file,
            tombstone_key,
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
    file_checksum: str,
    tombstone_key: bytes | None = None,
) -> FileOutcome:
    """Rows + pending audit (one transaction), quality rules, then unparseable rows + final
    counts (a second transaction)."""
    relative, checksum = base["file_path"], base["checksum"]
    params = {
        "load_id": load_id,
        "source_file": relative,
        "loaded_at": datetime.now(UTC).replace(tzinfo=None),
        "file_checksum": file_checksum,
    }

    def record_pending(counts: _Counts) -> None:
        _record_audit(con, table, counts, params, checksum, path, run_id, _since(started))

    try:
        counts = _write_rows(
            con, table, path, params, max_unparseable_share, record_pending, tombstone_key
        )
    except FileRejected as rejected:
        _record_rejection(con, table, relative, checksum, rejected.reason, run_id, file_checksum)
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
        # An unparseable line keeps its raw text in quarantine: a tombstone blocks it too.
        blocked = block_tombstoned_lines(con, table, _REJECTED_ROWS, tombstone_key)
        if blocked:
            counts = replace(
                counts,
                rows_rejected=counts.rows_rejected - blocked,
                rows_blocked=counts.rows_blocked + blocked,
            )
        unparseable = sql.quarantine_unparseable_sql(table, f"select * from {_REJECTED_ROWS}")
        _rows(con, unparseable, params)
    con.execute(
        "update audit.load_audit set rows_quarantined = ?, rows_rejected = ?, rows_blocked = ?, "
        "seconds = ?, status = 'loaded' where load_id = ?",
        [quarantined, counts.rows_rejected, counts.rows_blocked, seconds, load_id],
    )
    con.execute("commit")
    return FileOutcome(
        **base,
        status="loaded",
        load_id=load_id,
        rows_read=counts.rows_read,
        rows_loaded=counts.rows_loaded,
        rows_rejected=counts.rows_rejected,
        rows_blocked=counts.rows_blocked,
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
    rows_blocked: int = 0


def _check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    if is_compressed(path.name):
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
    tombstone_key: bytes | None = None,
) -> _Counts:
    """Insert the file's rows and its `pending` audit row in one transaction.

    Rows an erasure tombstone blocks are deleted before the audit row is written, which
    counts them (`rows_blocked`; `rows_loaded` excludes them).

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
        blocked = block_tombstoned_rows(con, table, params["load_id"], tombstone_key)
        if blocked:
            counts = replace(counts, rows_loaded=counts.rows_loaded - blocked, rows_blocked=blocked)
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
        # DuckDB reads a header with bytes that are not UTF-8 as no header at all; say why.
        raise FileRejected(
            header_encoding_problem(path) or sql.explain_missing_columns(header, table, plan)
        )
    return plan


def header_encoding_problem(path: Path, limit: int = 1 << 16) -> str | None:
    """Why the file's first line is not UTF-8 (the encoding named), or None when it is."""
    opener = gzip.open if is_compressed(path.name) else open
    try:
        with opener(path, "rb") as handle:
            first = handle.read(limit).split(b"\n", 1)[0]
    except (OSError, EOFError, zlib.error):
        return None
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = first[error.start]
        try:
            shown = first.decode("cp1252")
            guess = "Windows-1252 / Latin-1"
        except UnicodeDecodeError:
            shown, guess = first.decode("latin-1"), "Latin-1"
        return (
            f"not UTF-8 encoded: the header row has byte 0x{byte:02x} at position "
            f"{error.start + 1}, which UTF-8 does not allow (read as {guess} it says "
            f"{shown[:80]!r}): re-export the file as UTF-8"
        )
    return None


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
    if loaded < staged:  # some lines are not JSON objects, or have mistyped keys: keep them
        con.execute(
            f"insert into {_REJECTED_ROWS} (row_number, raw_line, errors, rule) "
            f"{sql.ndjson_broken_lines_sql(_NDJSON_STAGE)}"
        )
        con.execute(
            f"insert into {_REJECTED_ROWS} (row_number, raw_line, errors, rule) "
            f"{sql.ndjson_bad_type_lines_sql(table, _NDJSON_STAGE)}"
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
        "? as rows_blocked, "
        "null as rows_quarantined, ?::varchar[] as extra_columns, "
        "?::varchar[] as missing_columns, ? as seconds, ? as loaded_at, ? as run_id, "
        "'pending' as status, ? as file_checksum",
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
            counts.rows_blocked,
            list(counts.extra_columns),
            list(counts.missing_columns),
            seconds,
            params["loaded_at"],
            run_id,
            params["file_checksum"],
        ],
    )


def _record_rejection(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    relative: str,
    checksum: str,
    reason: str,
    run_id: str,
    file_checksum: str,
) -> None:
    con.execute(
        "insert into audit.rejected_files by name select ? as source, ? as raw_table, "
        "? as file_path, ? as checksum, ? as reason, "
        "current_timestamp at time zone 'UTC' as rejected_at, ? as run_id, ? as file_checksum",
        [table.source, table.table, relative, checksum, reason, run_id, file_checksum],
    )

"""Fingerprint two DuckDB warehouses and say whether they hold the same tables and rows.

A fingerprint is, for every table and view in every schema, its row count and one
order-independent checksum per column: the sum of the hashes of the column's values (as
text, so a checksum compares values rather than storage; a sum, unlike a xor, still
counts duplicate rows). Two builds of the same code on the same input must agree on all of
it, except for the columns listed in `VOLATILE_COLUMNS`, which record when or in which run
something happened, or how long it took, and so differ between any two runs. Floating-point
columns are rounded to `FLOAT_DIGITS` decimals first: DuckDB sums doubles in parallel, so
the last bits of an aggregate can differ from run to run.

Tables that a restructuring renamed are matched by `DEFAULT_RENAMES` (regular expressions
on `schema.table`, applied to the first warehouse's names) plus any `--rename OLD=NEW`.

    python -m python_models.benchmarks.compare_warehouses BEFORE.duckdb AFTER.duckdb

prints one line per table (rows before and after, and what differs) and exits 1 when any
table differs, is missing, or (unless `--allow-new`) exists only in the second warehouse.
Both files are opened read-only; copy a warehouse that a pipeline is writing first.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from python_models.warehouse import connect

# Columns whose values legitimately differ between two runs of the same code on the same
# input, -> why. A bare name is excluded in every table; `schema.table.column` in that table.
# Found by comparing two builds of one commit (`make demo` twice); everything else agreed.
VOLATILE_COLUMNS: dict[str, str] = {
    "_loaded_at": "raw.*, quarantine.*: wall-clock time of the load",
    "quarantined_at": "quarantine.*: wall-clock time the row was held back",
    "loaded_at": "audit.load_audit, dq.*: wall-clock time of the load",
    "rejected_at": "audit.rejected_files: wall-clock time of the rejection",
    "run_id": "audit.*, identity.*, models.model_runs: a fresh id per Dagster run",
    "last_run_id": "identity.identity_graph: the run that last touched the record",
    "seconds": "audit.load_audit, identity.identity_runs: wall-clock duration",
    "cpu_seconds": "identity.identity_runs: CPU duration",
    "finished_at": "identity.identity_runs: wall-clock end of the run",
    "report": "identity.identity_runs: the run report, which holds stage timings",
    "computed_at": "dq.dq_scorecard, dq.dq_load_profiles: wall-clock time of the scoring",
    "detected_at": "dq.dq_outliers, dq.dq_volume_anomalies: wall-clock time of detection",
    "dq.dq_scorecard.freshness_lag_hours": "hours from the load to the wall clock at scoring",
    "dq.dq_scorecard.timeliness": "a score of freshness_lag_hours",
    "dq.dq_scorecard.dq_score": "the mean of the dimension scores, timeliness among them",
    "model_version": "models.*: the fitted model's version, named by its training time",
    "assigned_at": "models.customer_clusters: wall-clock time of scoring",
    "profiled_at": "models.cluster_profiles: wall-clock time of profiling",
    "models.model_runs.version": "the fitted model's version, named by its training time",
    "trained_at": "models.model_runs: wall-clock time of training",
}
FLOAT_DIGITS = 6
FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}

# Tables the structure work of issue #15 moved: rule segments went from marts to intermediate.
DEFAULT_RENAMES: tuple[tuple[str, str], ...] = (
    (r"marts\.seg_(\w+)", r"intermediate.int_segment_\1_members"),
)
SKIPPED_SCHEMAS = ("information_schema", "pg_catalog")


@dataclass(frozen=True)
class TableFingerprint:
    """What two builds of one table must share: column types, row count, column checksums."""

    column_types: dict[str, str]
    rows: int
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableComparison:
    before_name: str | None
    after_name: str | None
    before_rows: int | None
    after_rows: int | None
    differences: tuple[str, ...]

    @property
    def name(self) -> str:
        if self.before_name and self.after_name and self.before_name != self.after_name:
            return f"{self.before_name} -> {self.after_name}"
        return self.before_name or self.after_name or ""

    @property
    def status(self) -> str:
        if self.after_name is None:
            return "only before"
        if self.before_name is None:
            return "only after"
        return "differs" if self.differences else "same"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_checksum_sql(column: str, column_type: str) -> str:
    """The checksum expression of one column: the sum of its values' hashes, as text."""
    value = quote_identifier(column)
    if column_type.upper() in FLOAT_TYPES:
        value = f"round({value}, {FLOAT_DIGITS})"
    return f"cast(sum(hash(cast({value} as varchar))) as varchar)"


def list_tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every table and view (staging models are views)."""
    placeholders = ", ".join("?" for _ in SKIPPED_SCHEMAS)
    return connection.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema not in ({placeholders}) "
        "order by table_schema, table_name",
        list(SKIPPED_SCHEMAS),
    ).fetchall()


def fingerprint_table(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    volatile_columns: Iterable[str] = VOLATILE_COLUMNS,
) -> TableFingerprint:
    """One scan of the table: its row count and a checksum per non-volatile column."""
    column_types = dict(
        connection.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    )
    skipped = set(volatile_columns)
    checked = [
        column
        for column in column_types
        if column not in skipped and f"{schema}.{table}.{column}" not in skipped
    ]
    expressions = ["count(*)"] + [
        column_checksum_sql(column, column_types[column]) for column in checked
    ]
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    row = connection.execute(f"select {', '.join(expressions)} from {relation}").fetchone()
    assert row is not None
    checksums = dict(zip(checked, (str(value) for value in row[1:]), strict=True))
    return TableFingerprint(column_types, int(row[0]), checksums)


def fingerprint_warehouse(
    connection: duckdb.DuckDBPyConnection, volatile_columns: Iterable[str] = VOLATILE_COLUMNS
) -> dict[str, TableFingerprint]:
    """`schema.table` -> fingerprint for every base table of the warehouse."""
    volatile = tuple(volatile_columns)
    return {
        f"{schema}.{table}": fingerprint_table(connection, schema, table, volatile)
        for schema, table in list_tables(connection)
    }


def renamed(name: str, renames: Sequence[tuple[str, str]]) -> str:
    """The name a table of the first warehouse has in the second (first matching rename)."""
    for pattern, replacement in renames:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, replacement, name)
    return name


def table_differences(before: TableFingerprint, after: TableFingerprint) -> list[str]:
    """Every way `after` differs from `before`, in words a reader can act on."""
    differences = []
    missing = [c for c in before.column_types if c not in after.column_types]
    added = [c for c in after.column_types if c not in before.column_types]
    if missing:
        differences.append(f"columns gone: {', '.join(missing)}")
    if added:
        differences.append(f"columns added: {', '.join(added)}")
    retyped = [
        f"{column} {before.column_types[column]}->{after.column_types[column]}"
        for column in before.column_types
        if column in after.column_types
        and before.column_types[column] != after.column_types[column]
    ]
    if retyped:
        differences.append(f"types changed: {', '.join(retyped)}")
    if before.rows != after.rows:
        differences.append(f"rows {before.rows} -> {after.rows}")
    changed = [
        column
        for column, checksum in before.checksums.items()
        if column in after.checksums and after.checksums[column] != checksum
    ]
    if changed:
        differences.append(f"values differ in: {', '.join(changed)}")
    return differences


def compare_fingerprints(
    before: Mapping[str, TableFingerprint],
    after: Mapping[str, TableFingerprint],
    renames: Sequence[tuple[str, str]] = DEFAULT_RENAMES,
) -> list[TableComparison]:
    """One comparison per table of either warehouse, matched by name after the renames."""
    comparisons = []
    matched_after = set()
    for name, fingerprint in sorted(before.items()):
        target = renamed(name, renames)
        if target not in after and name in after:
            target = name
        if target not in after:
            comparisons.append(TableComparison(name, None, fingerprint.rows, None, ()))
            continue
        matched_after.add(target)
        differences = tuple(table_differences(fingerprint, after[target]))
        comparisons.append(
            TableComparison(name, target, fingerprint.rows, after[target].rows, differences)
        )
    for name, fingerprint in sorted(after.items()):
        if name not in matched_after:
            comparisons.append(TableComparison(None, name, None, fingerprint.rows, ()))
    return comparisons


def is_failure(comparison: TableComparison, allow_new: bool) -> bool:
    if comparison.status == "only after":
        return not allow_new
    return comparison.status != "same"


def render_report(comparisons: Sequence[TableComparison], allow_new: bool) -> str:
    """A fixed-width table: status, table, rows before, rows after, what differs."""
    header = ("status", "table", "rows before", "rows after", "differences")
    lines = [
        (
            comparison.status,
            comparison.name,
            "" if comparison.before_rows is None else str(comparison.before_rows),
            "" if comparison.after_rows is None else str(comparison.after_rows),
            "; ".join(comparison.differences),
        )
        for comparison in comparisons
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(4)]

    def format_row(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [row[2].rjust(widths[2]), row[3].rjust(widths[3]), row[4]]
        return "  ".join(cells).rstrip()

    failures = [c for c in comparisons if is_failure(c, allow_new)]
    counts: dict[str, int] = {}
    for comparison in comparisons:
        counts[comparison.status] = counts.get(comparison.status, 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    verdict = (
        "identical (volatile columns excluded)"
        if not failures
        else f"{len(failures)} table(s) differ"
    )
    return "\n".join(
        [format_row(header), *(format_row(line) for line in lines), "", f"{summary}: {verdict}"]
    )


def parse_rename(text: str) -> tuple[str, str]:
    old, separator, new = text.partition("=")
    if not separator or not old or not new:
        raise argparse.ArgumentTypeError(
            f"--rename wants OLD=NEW (regex=replacement), not {text!r}"
        )
    return old, new


def open_read_only(path: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise SystemExit(f"{path}: no such warehouse file")
    try:
        return connect(path, memory_limit=memory_limit, read_only=True)
    except duckdb.IOException as error:
        raise SystemExit(
            f"{path}: cannot open read-only ({error}); a pipeline may be writing it: "
            "copy the file and compare the copy"
        ) from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m python_models.benchmarks.compare_warehouses",
        description="Compare row counts and per-column checksums of two DuckDB warehouses.",
    )
    parser.add_argument("before", type=Path, help="the reference warehouse (e.g. a baseline)")
    parser.add_argument("after", type=Path, help="the warehouse to check against it")
    parser.add_argument(
        "--rename",
        type=parse_rename,
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="match table OLD of BEFORE (a regex on schema.table) to NEW in AFTER",
    )
    parser.add_argument(
        "--no-default-renames", action="store_true", help="do not apply DEFAULT_RENAMES"
    )
    parser.add_argument(
        "--allow-new", action="store_true", help="tables only in AFTER do not fail the check"
    )
    parser.add_argument(
        "--include-volatile",
        action="store_true",
        help="also compare the run-dependent columns (VOLATILE_COLUMNS)",
    )
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit (default 2GB)")
    arguments = parser.parse_args(argv)
    renames = [*arguments.rename, *(() if arguments.no_default_renames else DEFAULT_RENAMES)]
    volatile = () if arguments.include_volatile else tuple(VOLATILE_COLUMNS)
    fingerprints = []
    for path in (arguments.before, arguments.after):
        with open_read_only(path, arguments.memory_limit) as connection:
            fingerprints.append(fingerprint_warehouse(connection, volatile))
    comparisons = compare_fingerprints(*fingerprints, renames=renames)
    print(f"before: {arguments.before}\nafter:  {arguments.after}")
    if not arguments.include_volatile:
        print(f"not compared (differ between runs): {', '.join(sorted(VOLATILE_COLUMNS))}")
    print()
    print(render_report(comparisons, arguments.allow_new))
    return 1 if any(is_failure(c, arguments.allow_new) for c in comparisons) else 0


if __name__ == "__main__":
    sys.exit(main())

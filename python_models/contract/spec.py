"""The shapes of the raw contract: a `Column`, a quality `Rule` and a `RawTable` holding both.

A `RawTable` is everything the project promises about one raw table, in one frozen
dataclass: where its files land and how they are read, its columns (with the type each value
must parse as, PII flag and description), the columns a file must carry, its natural key, its
data-quality rules and what the scorecard needs (key attributes, event time, freshness SLA).
The extract, the quality package, the dbt source yml and the data dictionary all read these
objects, so a column or a rule is declared once.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Literal

FileFormat = Literal["csv", "ndjson", "parquet"]
Severity = Literal["blocking", "warning"]
Family = Literal[
    "schema", "format", "range", "uniqueness", "completeness", "accepted_values", "consistency"
]
# Row-level kinds compile to a per-row SQL predicate; table-level kinds yield one figure per load.
RowKind = Literal[
    "required",
    "regex",
    "phone",
    "postcode_by_country",
    "accepted_values",
    "numeric",
    "integer",
    "timestamp",
    "age_years",
    "date",
    "not_before",
    "unique_in_load",
    "json_numeric",
    "identifier_format",
]
TableKind = Literal["completeness", "exists_in_sources", "agrees_across_sources"]
ROW_KINDS: frozenset[str] = frozenset(RowKind.__args__)  # type: ignore[attr-defined]
TABLE_KINDS: frozenset[str] = frozenset(TableKind.__args__)  # type: ignore[attr-defined]
#: the types a raw value may be declared to parse as (raw storage is always VARCHAR).
COLUMN_TYPES: frozenset[str] = frozenset(
    {"varchar", "integer", "decimal", "date", "timestamp", "json"}
)


#: suffixes of a compressed landing file, any letter case; DuckDB's readers decompress them.
COMPRESSION_SUFFIXES: tuple[str, ...] = (".gz", ".gzip")


def strip_compression(name: str) -> str:
    """The file name without a compression suffix (`events_1.ndjson.gz` -> `events_1.ndjson`)."""
    for suffix in COMPRESSION_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_compressed(name: str) -> bool:
    return strip_compression(name) != name


@dataclass(frozen=True)
class Column:
    """One file column of a raw table.

    Attributes:
        name: the column name, as in the landing file's header (matched case-insensitively).
        type: what the value must parse as once staged (``varchar``, ``integer``, ``decimal``,
            ``date``, ``timestamp``, ``json``). Raw tables store every file column as VARCHAR
            exactly as read; the type is the promise staging casts to and rules check.
        pii: personal data; tagged ``meta: {pii: true}`` in the dbt source yml.
        description: what the column holds, for the dbt docs and the data dictionary.
        identifies: the kind of identifier that names a person (``email``, ``phone``,
            ``crm_id``, ``loyalty_id``, ``user_id``, ``anonymous_id``, ``order_id``,
            ``ticket_id``, or ``contact`` for an email-or-phone column); an erasure deletes
            the rows whose value is one of the erased person's, and the extract blocks rows
            whose value is tombstoned (python_models.privacy).
    """

    name: str
    type: str = "varchar"
    pii: bool = False
    description: str = ""
    identifies: str | None = None

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(
                f"column {self.name!r}: type {self.type!r} is not one of "
                f"{', '.join(sorted(COLUMN_TYPES))}"
            )


@dataclass(frozen=True)
class Rule:
    """One data-quality rule on one raw table.

    `blocking` rules send a failing row to `quarantine.<table>`; `warning` rules are recorded
    and the row is kept. The same rule compiles to DuckDB SQL (quality.sql) and to a
    great-expectations expectation (quality.expectations).
    """

    name: str
    family: Family
    severity: Severity
    kind: str
    columns: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def column(self) -> str:
        return self.columns[0]

    @property
    def is_row_rule(self) -> bool:
        return self.kind in ROW_KINDS


@dataclass(frozen=True)
class MetadataColumn:
    """A column the extract adds to every raw table after the file columns."""

    name: str
    sql_type: str
    description: str


#: the `_` columns every raw (and quarantine) table carries after its file columns.
METADATA: tuple[MetadataColumn, ...] = (
    MetadataColumn("_load_id", "VARCHAR", "One id per file load (`<source>-<sha256[:12]>`)."),
    MetadataColumn("_source_file", "VARCHAR", "The landing file, relative to the landing dir."),
    MetadataColumn("_row_number", "BIGINT", "1-based data-row number in the file."),
    MetadataColumn("_loaded_at", "TIMESTAMP", "When the load ran (UTC)."),
    MetadataColumn("_extra", "JSON", "Columns the file had beyond the contract, as JSON."),
)
#: (name, type) of the metadata columns, as the extract creates them.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = tuple((m.name, m.sql_type) for m in METADATA)
#: (name, type) of the columns a quarantine table adds to its raw table's.
QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("failed_rules", "VARCHAR[]"),
    ("quarantined_at", "TIMESTAMP"),
    ("released_at", "TIMESTAMP"),
)


#: events up to this many hours after the run's as_of are still "now" (clock skew between
#: systems); later ones are the future-date rule's to quarantine, and freshness ignores them.
FUTURE_TOLERANCE_HOURS = 24

FreshnessStatus = Literal["pass", "warn", "error"]


@dataclass(frozen=True)
class Freshness:
    """The one definition of a raw table's freshness, read by the scorecard and by
    `dbt source freshness` (whose source yml is generated from it).

    Freshness is the age of the newest event at the run's as_of: `as_of − max(event time)`
    over the rows of `raw.<table>` whose event time is at most `FUTURE_TOLERANCE_HOURS` after
    as_of. Neither the wall clock nor the load time enters it, so a replay, a back-fill and
    the demo are judged as of their own date. Older than `warn_after_hours` is a warning,
    older than `error_after_hours` an error; a table without any event is an error (dbt
    reads a missing maximum as "infinitely old").
    """

    event_time_column: str
    warn_after_hours: int
    error_after_hours: int

    def verdict(self, age_hours: float | None) -> FreshnessStatus:
        """dbt's rule: past `error_after` is an error, else past `warn_after` a warning."""
        if age_hours is None or age_hours > self.error_after_hours:
            return "error"
        if age_hours > self.warn_after_hours:
            return "warn"
        return "pass"


@dataclass(frozen=True)
class RawTable:
    """One raw table: its landing files, columns, keys and quality rules.

    Attributes:
        source: the source system (crm, web, shop, pos, support, consent, catalog); one Dagster
            multi-asset and one dbt staging folder per source system.
        table: the table name inside schema `raw` (and `quarantine`), e.g. ``crm_contacts``.
        glob: where its files land, relative to the landing dir, e.g. ``crm/contacts_*.csv``.
        format: ``csv`` (header row, comma-delimited, UTF-8, optionally ``.gz``), ``ndjson``
            (one JSON object per line, optionally ``.gz``) or ``parquet``.
        columns: the file columns in file order (a bare name is a VARCHAR column with no
            description). Every raw table has exactly these plus the `_` metadata columns.
        required: columns a file must contain to be loaded; a file without one is rejected
            whole. Other columns may be absent (loaded as NULL and reported). Whether a *value*
            may be empty is a rule (`required(...)` in `rules`), checked row by row.
        natural_key: the columns that identify one record; staging keeps the latest load.
        description: what the table holds, for Dagster, dbt docs and the data dictionary.
        rules: the data-quality rules; blocking ones quarantine a row, warnings are recorded.
        key_attributes: the columns the scorecard's completeness figure looks at.
        event_time_column: the column whose newest value measures freshness (None: the
            table has no freshness verdict).
        freshness_sla_hours: how many hours before the run's as_of the newest event may be
            before the table is stale (a warning, in the scorecard and `dbt source freshness`).
        freshness_error_hours: how old it may be before it is an error (the run stops).
        freshness_checked: False for a table some deployments never fill (the shop accounts
            arrive only from the live shop database): dbt checks no freshness on it.
    """

    source: str
    table: str
    glob: str
    format: FileFormat
    columns: tuple[Column, ...]
    required: tuple[str, ...]
    natural_key: tuple[str, ...]
    description: str = ""
    rules: tuple[Rule, ...] = ()
    key_attributes: tuple[str, ...] = ()
    event_time_column: str | None = None
    freshness_sla_hours: float = 24.0
    freshness_error_hours: float = 24.0 * 7
    freshness_checked: bool = True

    def __post_init__(self) -> None:
        as_columns = tuple(c if isinstance(c, Column) else Column(c) for c in self.columns)
        object.__setattr__(self, "columns", as_columns)
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"raw.{self.table}: duplicate column names")
        declared = (*self.required, *self.natural_key, *self.key_attributes)
        unknown = [c for c in declared if c not in names]
        if unknown:
            raise ValueError(f"raw.{self.table}: {unknown} are not among its columns")
        missing_keys = [c for c in self.natural_key if c not in self.required]
        if missing_keys:
            raise ValueError(f"raw.{self.table}: natural key {missing_keys} must be required")
        if self.event_time_column is not None and self.event_time_column not in names:
            raise ValueError(f"raw.{self.table}: event time {self.event_time_column!r} unknown")
        thresholds = (self.freshness_sla_hours, self.freshness_error_hours)
        if any(h <= 0 or h != int(h) for h in thresholds) or thresholds[0] > thresholds[1]:
            raise ValueError(
                f"raw.{self.table}: freshness thresholds {thresholds} must be whole hours, "
                "warning before error"
            )
        for rule in self.rules:
            strangers = [c for c in rule.columns if c not in names]
            if strangers:
                raise ValueError(
                    f"raw.{self.table}: rule {rule.name!r} names unknown columns {strangers}"
                )
        rule_names = [r.name for r in self.rules]
        if len(set(rule_names)) != len(rule_names):
            raise ValueError(f"raw.{self.table}: duplicate rule names")

    @property
    def freshness(self) -> Freshness | None:
        """When the table is stale, judged at the run's as_of (None: no event time)."""
        if self.event_time_column is None:
            return None
        return Freshness(
            self.event_time_column, int(self.freshness_sla_hours), int(self.freshness_error_hours)
        )

    def matches(self, relative_path: str) -> bool:
        """Whether a landing file (path relative to the landing dir) is one of this table's.

        Names match the glob in any letter case, and with or without a `.gz` (or `.gzip`)
        suffix: `crm/Contacts_1.CSV`, `crm/contacts_1.csv.gz` and `web/events_1.ndjson` are
        all accepted, as the formats' docstrings promise.
        """
        return fnmatch.fnmatchcase(
            strip_compression(relative_path).lower(), strip_compression(self.glob).lower()
        )

    @property
    def qualified_name(self) -> str:
        """``raw.<table>``."""
        return f"raw.{self.table}"

    @property
    def column_names(self) -> tuple[str, ...]:
        """The file columns' names, in file order."""
        return tuple(c.name for c in self.columns)

    @property
    def optional(self) -> tuple[str, ...]:
        """File columns a file may leave out."""
        return tuple(c for c in self.column_names if c not in self.required)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"raw.{self.table} has no column {name!r}")

    def row_rules(self, severity: Severity | None = None) -> list[Rule]:
        return [
            r for r in self.rules if r.is_row_rule and (severity is None or r.severity == severity)
        ]

    def table_rules(self) -> list[Rule]:
        return [r for r in self.rules if not r.is_row_rule]

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"{self.table}: no rule named {name!r}")

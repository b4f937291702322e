"""The verdict on a raw table's latest load: may its rows flow on, and what to tell people.

A load passes its blocking gate when (1) every blocking expectation holds on the rows that flow
on (so quarantine did its job) and (2) the share of the load sent to quarantine is at most
`max_quarantine_share` — past that the feed itself is broken and the run must stop. The failure
message names the source, each failing rule, its count and three sample rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from python_models.quality.config import QualitySettings
from python_models.quality.evaluate import RuleResult, evaluate_load
from python_models.quality.expectations import SQL_ONLY_KINDS
from python_models.quality.ge_validation import SuiteOutcome, validate_latest_load
from python_models.quality.quarantine import (
    QUARANTINE_SCHEMA,
    RAW_SCHEMA,
    RuleFailure,
    load_rows_sql,
    quarantine_failures,
    relation_exists,
)
from python_models.quality.sql import quote_ident

SAMPLE_COLUMNS_DROPPED = ("_source_file", "_load_id", "failed_rules")


@dataclass(frozen=True)
class LoadVerdict:
    table: str
    load_id: str | None
    rows_read: int
    rows_quarantined: int
    blocking_passed: bool
    warnings_passed: bool
    message: str
    suite: SuiteOutcome | None
    failures: list[RuleFailure] = field(default_factory=list)
    cross_source: list[RuleResult] = field(default_factory=list)

    @property
    def quarantine_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


def compact_sample(row: dict) -> dict:
    """A sample row for a message: only filled payload columns, plus its row number."""
    return {k: v for k, v in row.items() if v not in (None, "") and k not in SAMPLE_COLUMNS_DROPPED}


def failure_message(
    table: str,
    load_id: str,
    rows_read: int,
    rows_quarantined: int,
    failures: list[RuleFailure],
    suite_failures: list[str],
    max_share: float,
) -> str:
    """Pure: the human message for a failed blocking gate."""
    share = rows_quarantined / rows_read if rows_read else 0.0
    lines = [
        f"Data-quality gate failed for source raw.{table}, load {load_id}: "
        f"{rows_quarantined} of {rows_read} rows quarantined ({share:.1%}, limit {max_share:.1%})."
    ]
    for failure in failures:
        lines.append(f"- rule {failure.rule}: {failure.failing_rows} failing row(s); e.g.")
        lines += [f"    {compact_sample(s)}" for s in failure.samples[:3]]
    for text in suite_failures:
        lines.append(f"- great-expectations on rows flowing on: {text}")
    return "\n".join(lines)


def judge(
    rows_read: int,
    rows_quarantined: int,
    suite: SuiteOutcome | None,
    max_share: float,
) -> tuple[bool, bool]:
    """Pure: (blocking gate passed, warnings passed)."""
    share = rows_quarantined / rows_read if rows_read else 0.0
    blocking_ok = share <= max_share and not (suite and suite.failed("blocking"))
    warnings_ok = not (suite and suite.failed("warning"))
    return blocking_ok, warnings_ok


def load_counts(con: duckdb.DuckDBPyConnection, table: str, load_id: str) -> tuple[int, int]:
    """(rows read, rows quarantined) of one load.

    Rows the extract could not parse are quarantined without ever reaching raw: they were read
    too.
    """
    source_sql = load_rows_sql(table, load_id)
    rows_read = int(con.execute(f"select count(*) from ({source_sql})").fetchall()[0][0])
    if not relation_exists(con, QUARANTINE_SCHEMA, table):
        return rows_read, 0
    quarantined, never_in_raw = con.execute(
        f"select count(*), count(*) filter (where _row_number not in "
        f"(select _row_number from ({source_sql}))) "
        f"from {QUARANTINE_SCHEMA}.{quote_ident(table)} "
        "where _load_id = ? and released_at is null",
        [load_id],
    ).fetchall()[0]
    return rows_read + int(never_in_raw), int(quarantined)


def loads_of_run(con: duckdb.DuckDBPyConnection, table: str, run_id: str | None) -> list[str]:
    """The loads of raw.<table> that the run `run_id` wrote (per the extract's load audit)."""
    if not run_id or not relation_exists(con, "audit", "load_audit"):
        return []
    return [
        row[0]
        for row in con.execute(
            f"select _load_id from {RAW_SCHEMA}.{quote_ident(table)} where _load_id in "
            f"(select load_id from audit.load_audit where run_id = ?) "
            f"group by _load_id order by max(_loaded_at), _load_id",
            [run_id],
        ).fetchall()
    ]


def assess_latest_load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    settings: QualitySettings,
    run_id: str | None = None,
) -> LoadVerdict:
    """Validate the latest load of raw.<table> with GE and judge it.

    Every other load the run `run_id` wrote to the table is judged on its quarantine share too,
    so a broken file does not slip through because a clean one landed after it.
    """
    suite = validate_latest_load(con, table, sample_rows=settings.ge_sample_rows)
    if suite is None:
        return LoadVerdict(table, None, 0, 0, True, True, f"raw.{table} has no load yet", None)
    rows_read, quarantined = load_counts(con, table, suite.load_id)
    blocking_ok, warnings_ok = judge(rows_read, quarantined, suite, settings.max_quarantine_share)
    # Cross-source rules need other tables, so DuckDB evaluates them rather than GE.
    cross_source = evaluate_load(con, table, suite.load_id, kinds_only=tuple(SQL_ONLY_KINDS))
    warnings_ok = warnings_ok and all(r.passed for r in cross_source)
    failures = quarantine_failures(con, table, suite.load_id)
    messages = []
    if blocking_ok:
        messages.append(
            f"raw.{table} load {suite.load_id}: {rows_read} rows read, {quarantined} quarantined, "
            f"{rows_read - quarantined} passed"
        )
    else:
        suite_failures = [
            f"{o.rule} ({o.unexpected_count} rows, e.g. {o.sample_values})"
            for o in suite.failed("blocking")
        ]
        messages.append(
            failure_message(
                table,
                suite.load_id,
                rows_read,
                quarantined,
                failures,
                suite_failures,
                settings.max_quarantine_share,
            )
        )
    for load_id in loads_of_run(con, table, run_id):
        if load_id == suite.load_id:
            continue
        read, held = load_counts(con, table, load_id)
        if not judge(read, held, None, settings.max_quarantine_share)[0]:
            blocking_ok = False
            earlier = quarantine_failures(con, table, load_id)
            failures = failures + earlier
            messages.append(
                failure_message(
                    table, load_id, read, held, earlier, [], settings.max_quarantine_share
                )
            )
    if not blocking_ok:
        messages = [m for m in messages if m.startswith("Data-quality gate failed")]
    return LoadVerdict(
        table, suite.load_id, rows_read, quarantined, blocking_ok, warnings_ok,
        "\n".join(messages), suite, failures, cross_source,
    )  # fmt: skip

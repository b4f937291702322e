"""Run a raw table's great-expectations suite on its latest load.

The batch is the latest load's rows that flow on to staging (raw minus unreleased quarantine),
pulled from DuckDB as a pandas frame, reservoir-sampled when larger than the configured limit.
Each run uses an ephemeral GE context, so checks of different tables can run at the same time
without sharing state. No Data Docs are built: GE's pages load their styles and scripts from
CDNs and name expectations by their synthetic columns, so the steward reads the outcomes in the
check's metadata and the dashboard's data-quality drill-down instead (decision 0003).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import duckdb

from python_models.quality.evaluate import latest_load_id
from python_models.quality.expectations import batch_sql, expectations_for
from python_models.quality.quarantine import QUARANTINE_SCHEMA, RAW_SCHEMA, relation_exists
from python_models.quality.replay import payload_columns
from python_models.quality.rules import table_rules
from python_models.quality.sql import quote_ident, quote_literal


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str
    severity: str
    family: str
    expectation: str
    column: str
    success: bool
    unexpected_count: int
    unexpected_percent: float
    sample_values: list = field(default_factory=list)


@dataclass(frozen=True)
class SuiteOutcome:
    table: str
    load_id: str
    rows_in_load: int
    rows_validated: int
    sampled: bool
    outcomes: list[ExpectationOutcome]

    def failed(self, severity: str) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.severity == severity and not o.success]

    def as_dict(self) -> dict:
        return asdict(self)


def flowing_rows_sql(table: str, load_id: str) -> str:
    """Rows of `load_id` that staging will read: raw minus unreleased quarantine."""
    raw = f"{RAW_SCHEMA}.{quote_ident(table)}"
    quarantine = f"{QUARANTINE_SCHEMA}.{quote_ident(table)}"
    return (
        f"select * from {raw} as r where r._load_id = {quote_literal(load_id)} "
        f"and not exists (select 1 from {quarantine} as q where q._load_id = r._load_id "
        f"and q._row_number = r._row_number and q.released_at is null)"
    )


def _outcome(result) -> ExpectationOutcome:  # a GE ExpectationValidationResult
    config = result.expectation_config
    meta = config.meta or {}
    kwargs = config.kwargs or {}
    details = result.result or {}
    samples = details.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        rule=str(meta.get("rule", config.type)),
        severity=str(meta.get("severity", "warning")),
        family=str(meta.get("family", "")),
        expectation=str(config.type),
        column=str(kwargs.get("column") or ",".join(kwargs.get("column_list") or [])),
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        unexpected_percent=round(float(details.get("unexpected_percent") or 0.0), 4),
        sample_values=[str(v) for v in samples[:3]],
    )


def run_suite(table: str, frame) -> list[ExpectationOutcome]:
    """Validate `frame` with `table`'s suite in an ephemeral context."""
    # GX phones home unless told not to; it reads this when it is first imported, here.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("raw")
        .add_dataframe_asset(table)
        .add_batch_definition_whole_dataframe("latest_load")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"raw.{table}"))
    for expectation in expectations_for(table_rules(table)):
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"raw.{table}.latest_load", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"raw.{table}",
            validation_definitions=[validation],
            actions=[],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 3},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    return [_outcome(r) for run in result.run_results.values() for r in run.results]


def validate_latest_load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sample_rows: int = 200_000,
    load_id: str | None = None,
) -> SuiteOutcome | None:
    """Run `table`'s suite on the flowing rows of its latest load; None when nothing is loaded."""
    spec = table_rules(table)
    load_id = load_id or latest_load_id(con, table)
    if load_id is None:
        return None
    if not relation_exists(con, QUARANTINE_SCHEMA, table):
        from python_models.quality.quarantine import ensure_quarantine_table

        ensure_quarantine_table(con, table)
    source = flowing_rows_sql(table, load_id)
    rows_in_load = con.execute(f"select count(*) from ({source})").fetchall()[0][0]
    query = batch_sql(spec, payload_columns(con, table), source)
    sampled = rows_in_load > sample_rows
    if sampled:
        query = (
            f"select * from ({query}) "
            f"using sample reservoir({int(sample_rows)} rows) repeatable (42)"
        )
    frame = con.execute(query).df()
    outcomes = run_suite(table, frame)
    return SuiteOutcome(
        table=table,
        load_id=load_id,
        rows_in_load=int(rows_in_load),
        rows_validated=len(frame),
        sampled=sampled,
        outcomes=outcomes,
    )

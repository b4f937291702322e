"""Quality gates on every raw table: great-expectations suites run as Dagster asset checks.

Each `raw/<table>` asset gets two checks from one GE run on its latest load:
`blocking_rules` (blocking: a failure stops downstream assets and fails the run, and alerts) and
`warning_rules` (recorded, never blocking). The rules come from `python_models.quality.rules`.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings
from python_models.quality.alerts import send_alert
from python_models.quality.gate import LoadVerdict, assess_latest_load
from python_models.quality.rules import REGISTRY


def _expectation_metadata(
    verdict: LoadVerdict, severity: str, dashboard: Path
) -> dict[str, dg.MetadataValue]:
    suite = verdict.suite
    if suite is None:
        return {"note": dg.MetadataValue.text(verdict.message)}
    outcomes = [o for o in suite.outcomes if o.severity == severity]
    metadata: dict[str, dg.MetadataValue] = {
        "load_id": dg.MetadataValue.text(suite.load_id),
        "rows_read": dg.MetadataValue.int(verdict.rows_read),
        "rows_quarantined": dg.MetadataValue.int(verdict.rows_quarantined),
        "rows_passed": dg.MetadataValue.int(verdict.rows_read - verdict.rows_quarantined),
        "rows_validated": dg.MetadataValue.int(suite.rows_validated),
        "sampled": dg.MetadataValue.bool(suite.sampled),
        "expectations": dg.MetadataValue.int(len(outcomes)),
        "expectations_failed": dg.MetadataValue.int(sum(not o.success for o in outcomes)),
        "results": dg.MetadataValue.md(_results_markdown(outcomes)),
    }
    if suite.sampled:
        metadata["sample_note"] = dg.MetadataValue.text(
            f"validated a reservoir sample of {suite.rows_validated} of {suite.rows_in_load} rows"
        )
    # every failing rule in words, with sample quarantined rows (personal data masked)
    metadata["drill_down"] = dg.MetadataValue.url(f"{dashboard.as_uri()}#quality")
    for o in outcomes:
        metadata[f"{o.rule}"] = dg.MetadataValue.json(
            {
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "unexpected_percent": o.unexpected_percent,
            }
        )
    for r in verdict.cross_source if severity == "warning" else []:
        metadata[r.rule] = dg.MetadataValue.json(
            {
                "success": r.passed,
                "unexpected_count": r.failing_rows,
                "unexpected_percent": round(100 * r.failing_share, 4),
                "evaluated_by": "duckdb",
                "detail": r.detail,
            }
        )
    return metadata


def _results_markdown(outcomes: list) -> str:
    lines = ["| rule | expectation | success | unexpected | % |", "|---|---|---|---|---|"]
    lines += [
        f"| {o.rule} | {o.expectation} | {'✅' if o.success else '❌'} | {o.unexpected_count} "
        f"| {o.unexpected_percent:.2f} |"
        for o in outcomes
    ]
    return "\n".join(lines)


def build_raw_table_checks(table: str) -> dg.AssetChecksDefinition:
    asset_key = dg.AssetKey(["raw", table])

    @dg.multi_asset_check(
        name=f"{table}_quality",
        specs=[
            dg.AssetCheckSpec(
                "blocking_rules",
                asset=asset_key,
                blocking=True,
                description="Blocking rules hold on the rows that flow on, and the latest load "
                "quarantined no more than the allowed share of its rows.",
            ),
            dg.AssetCheckSpec(
                "warning_rules",
                asset=asset_key,
                blocking=False,
                description="Warning rules (formats, completeness, ranges) on the latest load.",
            ),
        ],
        pool="duckdb",
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
    ) -> Iterator[dg.AssetCheckResult]:
        project = get_settings()
        settings = project.quality()
        with duckdb.get_connection() as con:
            verdict = assess_latest_load(con, table, settings, run_id=context.run.run_id)
        if not verdict.blocking_passed:
            send_alert(
                settings.alert_hook,
                f"customer360 data-quality gate failed: raw.{table}",
                verdict.message,
                {"table": table, "load_id": verdict.load_id, "run_id": context.run.run_id},
            )
            context.log.error(verdict.message)
        yield dg.AssetCheckResult(
            check_name="blocking_rules",
            asset_key=asset_key,
            passed=verdict.blocking_passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=verdict.message,
            metadata=_expectation_metadata(verdict, "blocking", project.dashboard_path),
        )
        yield dg.AssetCheckResult(
            check_name="warning_rules",
            asset_key=asset_key,
            passed=verdict.warnings_passed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=_expectation_metadata(verdict, "warning", project.dashboard_path),
        )

    return _checks


RAW_TABLE_CHECKS = [build_raw_table_checks(table) for table in REGISTRY]


@dg.definitions
def quality_checks() -> dg.Definitions:
    return dg.Definitions(asset_checks=RAW_TABLE_CHECKS)

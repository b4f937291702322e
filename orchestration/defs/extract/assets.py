"""Extract assets: one multi-asset per source system, built from the raw contract.

Each multi-asset materialises `raw/<table>` and `quarantine/<table>` for every table of its
source system by calling `python_models.extract.load_landing_dir` on the landing dir. New files
load, unchanged files are skipped, bad files are recorded in `audit.rejected_files` and named
in the run's log and metadata, and the run still succeeds so the other files flow on.

The clickstream (`web`) and order (`shop`) extracts are partitioned by delivery day
(`DELIVERY_DAYS`, decision 0015): a run for partition `2026-11-02` loads only the files
whose name carries that day (`events_2026-11-02_part0003.ndjson.gz`), so a back-fill of a
date range loads each day's delivery in its own run. A run without a partition (`make
demo` on another landing folder, `customer360 run`) loads every new file, as before.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings
from python_models.contract import SOURCE_SYSTEMS, RawTable, tables_for
from python_models.extract import LoadReport
from python_models.extract import load_landing_dir as load_landing_files
from python_models.extract.loader import landing_states, record_files_outside_sources
from python_models.privacy.audit import log_event
from python_models.quality.quarantine import quarantine_load

GROUP = "extract"
KINDS = {"duckdb", "python"}
# One partition per landing delivery day; today's is open (end_offset) so the 15-minute
# clickstream run can load this morning's files.
DELIVERY_DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_offset=1)
PARTITIONED_SOURCES = frozenset({"web", "shop"})


def partitions_for(source: str) -> dg.DailyPartitionsDefinition | None:
    return DELIVERY_DAYS if source in PARTITIONED_SOURCES else None


def delivery_day_of(context: dg.AssetExecutionContext) -> date | None:
    """The run's delivery day (its partition), or None for a run of every new file."""
    return date.fromisoformat(context.partition_key) if context.has_partition_key else None


def raw_key(table: RawTable) -> dg.AssetKey:
    return dg.AssetKey(["raw", table.table])


def quarantine_key(table: RawTable) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", table.table])


def column_schema(table: RawTable) -> dg.TableSchema:
    """The contract's file columns for the UI: stored as VARCHAR, described with their type."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type="varchar",
                description=" ".join(
                    part
                    for part in (
                        c.description,
                        f"Parses as {c.type}." if c.type != "varchar" else "",
                        "PII." if c.pii else "",
                    )
                    if part
                ),
                tags={"pii": ""} if c.pii else {},
            )
            for c in table.columns
        ]
    )


def extract_specs(source: str) -> list[dg.AssetSpec]:
    specs: list[dg.AssetSpec] = []
    for table in tables_for(source):
        specs.append(
            dg.AssetSpec(
                raw_key(table),
                description=f"{table.description} Landing files `{table.glob}`, every column "
                "VARCHAR as read, plus `_load_id`, `_source_file`, `_row_number`, "
                "`_loaded_at`, `_extra`.",
                group_name=GROUP,
                kinds=KINDS,
                metadata={
                    "landing_glob": table.glob,
                    "format": table.format,
                    "natural_key": ", ".join(table.natural_key),
                    "required_columns": ", ".join(table.required),
                    "dagster/column_schema": column_schema(table),
                },
            )
        )
        specs.append(
            dg.AssetSpec(
                quarantine_key(table),
                deps=[raw_key(table)],
                description=f"Rows of raw.{table.table} that failed a blocking rule or could "
                "not be parsed (`failed_rules`); staging skips them until released.",
                group_name=GROUP,
                kinds=KINDS,
            )
        )
    return specs


def _rejections_markdown(report: LoadReport) -> str:
    lines = ["| file | reason |", "|---|---|"]
    lines += [f"| `{f.file_path}` | {f.reason} |" for f in report.rejected]
    return "\n".join(lines)


def table_results(
    table: RawTable, report: LoadReport, raw_rows: int, quarantined_rows: int
) -> list[dg.MaterializeResult]:
    """The two MaterializeResults of one table, with what this run did as metadata."""
    mine = report.for_table(table.table)
    metadata: dict[str, object] = {
        "files_loaded": len(mine.loaded),
        "files_already_loaded": len(mine.with_status("already_loaded")),
        "files_rejected": len(mine.with_status("rejected", "unchanged_rejected")),
        "rows_loaded": mine.total("rows_loaded"),
        "rows_unparseable": mine.total("rows_rejected"),
        "rows_quarantined": mine.total("rows_quarantined"),
        "rows_blocked_by_tombstones": mine.total("rows_blocked"),
        "seconds": round(sum(f.seconds for f in mine.files), 3),
        "dagster/row_count": raw_rows,
    }
    if mine.rejected:
        metadata["rejected_files"] = dg.MetadataValue.md(_rejections_markdown(mine))
    extra = sorted({c for f in mine.loaded for c in f.extra_columns})
    if extra:
        metadata["extra_columns"] = ", ".join(extra)
    return [
        dg.MaterializeResult(asset_key=raw_key(table), metadata=metadata),
        dg.MaterializeResult(
            asset_key=quarantine_key(table),
            metadata={
                "rows_unparseable": mine.total("rows_rejected"),
                "rows_quarantined": mine.total("rows_quarantined"),
                "dagster/row_count": quarantined_rows,
            },
        ),
    ]


def load_source_files(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, source: str
) -> Iterator[dg.MaterializeResult]:
    """Load one source system's new landing files; the results of every table it owns."""
    day = delivery_day_of(context)
    with duckdb.get_connection() as con:
        report = load_landing_files(
            con,
            get_settings().landing_dir,
            source=source,
            run_id=context.run_id,
            quarantine=quarantine_load,
            tombstone_key=get_settings().privacy_key(),
            delivery_day=day,
        )
        for loaded in report.loaded:
            if loaded.table == "consent_events":  # audited: consent changes received
                log_event(
                    con,
                    "consent_change",
                    run_id=context.run_id,
                    outcome="loaded",
                    rows_by_table={"raw.consent_events": loaded.rows_loaded},
                    details={"load_id": loaded.load_id, "file": loaded.file_path},
                )
        counts = {
            t.table: (
                con.execute(f"select count(*) from raw.{t.table}").fetchall()[0][0],
                con.execute(
                    f"select count(*) from quarantine.{t.table} where released_at is null"
                ).fetchall()[0][0],
            )
            for t in tables_for(source)
        }
    for outcome in report.files:
        log = context.log.warning if outcome.status == "rejected" else context.log.info
        log(outcome.describe())
    for unrecognised in report.unrecognised:
        context.log.warning(unrecognised.describe())
    for table in tables_for(source):
        yield from table_results(table, report, *counts[table.table])


def build_extract_asset(source: str) -> dg.AssetsDefinition:
    """The multi-asset that loads every table of one source system."""

    @dg.multi_asset(
        name=f"extract_{source}",
        specs=extract_specs(source),
        pool="duckdb",
        partitions_def=partitions_for(source),
        description=f"Load new `{source}` landing files into raw (DuckDB readers, load audit).",
    )
    def _extract(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource
    ) -> Iterator[dg.MaterializeResult]:
        yield from load_source_files(context, duckdb, source)

    return _extract


def _builder(source: str):
    from orchestration.defs.extract.live import LIVE_BUILDERS

    return LIVE_BUILDERS.get(source, build_extract_asset)


EXTRACT_ASSETS: list[dg.AssetsDefinition] = [_builder(s)(s) for s in SOURCE_SYSTEMS]
LANDING_FILES_KEY = dg.AssetKey(["audit", "landing_files"])


@dg.asset(
    key=LANDING_FILES_KEY,
    deps=[raw_key(t) for t in tables_for(None)],
    group_name=GROUP,
    kinds=KINDS,
    pool="duckdb",
    description="The state every file under the landing dir ended this run in (loaded, "
    "already_loaded, rejected, unrecognised), with the reason; after every extract, it adds "
    "the files no source's extract looks at (unknown folders, files beside the folders).",
)
def landing_files(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        outside = record_files_outside_sources(con, get_settings().landing_dir, context.run_id)
        states = landing_states(con, context.run_id)
        unrecognised = con.execute(
            "select file_path, reason from audit.landing_files "
            "where run_id = ? and state = 'unrecognised' order by 1",
            [context.run_id],
        ).fetchall()
    for path, reason in unrecognised:
        context.log.warning(f"UNRECOGNISED {path}: {reason}")
    summary = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in states.items())
    (context.log.warning if unrecognised else context.log.info)(
        f"landing files this run: {summary}"
        + (" (unrecognised files are NOT loaded: see audit.landing_files)" if unrecognised else "")
    )
    metadata: dict[str, object] = {f"files_{state}": n for state, n in states.items()}
    metadata["files_outside_source_folders"] = len(outside.unrecognised)
    if unrecognised:
        metadata["unrecognised_files"] = dg.MetadataValue.md(
            "| file | reason |\n|---|---|\n"
            + "\n".join(f"| `{path}` | {reason} |" for path, reason in unrecognised)
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.definitions
def extract_definitions() -> dg.Definitions:
    return dg.Definitions(assets=[*EXTRACT_ASSETS, landing_files])

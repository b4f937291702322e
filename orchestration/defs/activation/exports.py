"""Audience exports as Dagster assets: one `exports/export_<audience>` per audience.

The audiences come from `dbt_project/audiences/audiences.yml`, validated when the
definitions load, so a bad definition fails `dg check defs` before anything runs. Each
asset is a thin shell over `python_models.activation.export.export_audience`: it writes
the run's files under `$CUSTOMER360_EXPORT_DIR/<audience>/<run_id>/` and the
`exports.*` tables, in the `duckdb` pool (one writer). Lineage runs from the segment,
consent and profile marts and the prediction tables to every export; owners come from
the YAML. `exports/experiment_results` measures every audience's holdout and writes one
HTML report per experiment.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import AUDIENCES_FILE, DBT_PROJECT_DIR, get_settings
from python_models.activation.audiences import Audience, load_audience_file
from python_models.activation.export import ExportRequest, export_audience
from python_models.activation.files import sha256_of
from python_models.activation.members import WarehouseTables
from python_models.privacy.audit import log_event

GROUP = "activation"
UPSTREAM = [
    dg.AssetKey(["marts", "segment_membership"]),
    dg.AssetKey(["marts", "dim_customers"]),
    dg.AssetKey(["marts", "customer_consent"]),
    dg.AssetKey(["marts", "dim_products"]),
    dg.AssetKey(["reference", "email_suppressions"]),
    dg.AssetKey(["models", "customer_clusters"]),
    dg.AssetKey(["models", "customer_churn_scores"]),
    dg.AssetKey(["models", "customer_recommendations"]),
]
RESULTS_KEY = dg.AssetKey(["exports", "experiment_results"])


def export_key(audience: Audience) -> dg.AssetKey:
    return dg.AssetKey(["exports", audience.table_name])


def _owner(audience: Audience) -> list[str]:
    return [audience.owner if "@" in audience.owner else f"team:{audience.owner}"]


def _as_of() -> datetime:
    text = get_settings().as_of.replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_export_asset(audience: Audience) -> dg.AssetsDefinition:
    @dg.asset(
        key=export_key(audience),
        deps=UPSTREAM,
        group_name=GROUP,
        kinds={"duckdb", "csv", "parquet", audience.destination},
        owners=_owner(audience),
        description=f"{audience.description.strip()} Exported to {audience.destination}.",
        tags={"destination": audience.destination, "schedule": audience.schedule},
        pool="duckdb",
    )
    def _export(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
        settings = get_settings()
        request = ExportRequest(
            audience=audience,
            run_id=context.run_id,
            as_of=_as_of(),
            export_dir=settings.export_dir,
            tables=WarehouseTables(),
            privacy_key=settings.privacy_key(),
        )
        with duckdb.get_connection() as con:
            result = export_audience(con, request)
            counts = result.manifest["counts"]
            log_event(  # the privacy audit log: what went out, to whom (counts, no PII)
                con,
                "export",
                run_id=context.run_id,
                outcome="exported",
                subjects=counts["exported"],
                rows_by_table={f"exports.{audience.table_name}": counts["exported"]},
                details={
                    "audience": audience.name,
                    "destination": audience.destination,
                    **{k: counts[k] for k in ("added", "changed", "removed")},
                },
            )
        manifest = result.manifest
        for name, why in manifest["fields_without_model"].items():
            context.log.warning("%s: field %s is empty: %s", audience.name, name, why)
        counts = manifest["counts"]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": counts["exported"],
                "members": counts["members"],
                "excluded": counts["excluded"],
                "holdout_control": counts["holdout_control"],
                "added": counts["added"],
                "changed": counts["changed"],
                "removed": counts["removed"],
                "excluded_by_reason": dg.MetadataValue.json(manifest["excluded_by_reason"]),
                "value_rules": dg.MetadataValue.json(manifest["value_rules"]),
                "fields_without_model": dg.MetadataValue.json(manifest["fields_without_model"]),
                "manifest": dg.MetadataValue.path(str(result.folder / "manifest.json")),
                "definition_hash": manifest["definition_hash"],
                "seconds": round(result.seconds, 2),
            }
        )

    return _export


def build_consent_check(audience: Audience) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=export_key(audience),
        name="only_consented_unsuppressed_addresses",
        blocking=True,
        pool="duckdb",
        description="No exported address lacks current email-marketing consent of its own, "
        "is on the suppression list, or belongs to an erased customer.",
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            bad = con.execute(f"""
                select count(*) from exports.{audience.table_name} as e
                left join marts.customer_consent as c
                    on c.customer_key = e.customer_key and c.purpose = 'email_marketing'
                where c.customer_key is null or not c.is_granted
                    or c.granted_email is distinct from e.email
                    or e.email in (
                        select lower(trim(email)) from reference.email_suppressions
                    )
            """).fetchone()[0]
        return dg.AssetCheckResult(passed=bad == 0, metadata={"violations": bad})

    return _check


def build_manifest_check(audience: Audience) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=export_key(audience),
        name="manifest_matches_files",
        pool="duckdb",
        description="The last run's manifest lists every file with the sha256 it has on disk.",
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            row = con.execute(
                "select folder from exports.export_runs where audience = ? "
                "order by generated_at desc limit 1",
                [audience.name],
            ).fetchone()
        if row is None:
            return dg.AssetCheckResult(passed=False, metadata={"reason": "no run recorded"})
        folder = Path(row[0])
        manifest = json.loads((folder / "manifest.json").read_text())
        wrong = [
            f["name"]
            for f in manifest["files"]
            if not (folder / f["name"]).is_file() or sha256_of(folder / f["name"]) != f["sha256"]
        ]
        return dg.AssetCheckResult(
            passed=not wrong, metadata={"files": len(manifest["files"]), "mismatched": wrong}
        )

    return _check


@dg.definitions
def activation_definitions() -> dg.Definitions:
    audiences = load_audience_file(AUDIENCES_FILE, DBT_PROJECT_DIR)
    assets: list[dg.AssetsDefinition] = [build_export_asset(a) for a in audiences]
    checks = [build_consent_check(a) for a in audiences] + [
        build_manifest_check(a) for a in audiences
    ]
    # each audience's `schedule:` from the YAML, as a schedule of its own export
    schedules = [
        dg.ScheduleDefinition(
            name=f"export_{a.name}_schedule",
            cron_schedule=a.cron,
            target=dg.AssetSelection.assets(export_key(a)),
            execution_timezone="UTC",
            description=f"Export audience {a.name} ({a.schedule}).",
        )
        for a in audiences
    ]
    experiments = [a for a in audiences if a.holdout is not None]
    if experiments:
        from orchestration.defs.activation.experiments import build_results_asset

        assets.append(build_results_asset(experiments, [export_key(a) for a in experiments]))
    return dg.Definitions(assets=assets, asset_checks=checks, schedules=schedules)

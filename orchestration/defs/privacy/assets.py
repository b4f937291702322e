"""Privacy assets: erasure requests picked up from the landing dir, and the retention purge.

- `privacy/erasure_requests` reads every `<landing dir>/privacy/erasure_requests*.csv`
  (`request_id,identifier_type,identifier`), erases the people they name from every layer
  (`python_models.privacy.erasure`), then deletes the requests file: it holds the very
  identifiers the erasure removed. A malformed file fails the asset naming file, line and
  reason, and is left in place, untouched, for the requester to fix.
- `privacy/retention_purge` deletes raw clickstream events older than
  `CUSTOMER360_RETENTION_DAYS` (default 730) before "now" (`CUSTOMER360_AS_OF` when given,
  else the clock); the daily 03:30 UTC schedule runs it.

- `analytics/pseudonymised_marts` rebuilds the `analytics` schema (HMAC-hashed marts) and
  fails, dropping what it built, when a column would carry personal data.

All write in the `duckdb` pool; erasures and purges are audited in `audit.privacy_log`.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import DBT_PROJECT_DIR, get_settings
from python_models.privacy.analytics import MARTS, build_analytics, pii_columns, pii_violations
from python_models.privacy.erasure import erase
from python_models.privacy.requests import MalformedRequests, read_requests_file
from python_models.privacy.retention import purge_expired_events

GROUP = "privacy"
REQUESTS_GLOB = "privacy/erasure_requests*.csv"


def pending_request_files(landing_dir: Path) -> list[Path]:
    return sorted(p for p in landing_dir.glob(REQUESTS_GLOB) if p.is_file())


@dg.asset(
    key=dg.AssetKey(["privacy", "erasure_requests"]),
    deps=[dg.AssetKey(["identity", "identity_graph"]), dg.AssetKey(["marts", "dim_customers"])],
    group_name=GROUP,
    kinds={"duckdb", "python"},
    pool="duckdb",
    description="Erase the people named in landed erasure-request files, then delete the files.",
)
def erasure_requests(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    settings = get_settings()
    files = pending_request_files(settings.landing_dir)
    if not files:
        return dg.MaterializeResult(metadata={"files": 0, "requests": 0, "customers_erased": 0})
    try:
        batches = [(path, read_requests_file(path)) for path in files]
    except MalformedRequests as error:
        raise dg.Failure(description=str(error)) from error
    key = settings.privacy_key()
    requests = no_match = customers = rows = 0
    with duckdb.get_connection() as con:
        for path, batch in batches:
            results = erase(con, batch, key=key, run_id=context.run_id)
            path.unlink()  # the file holds the identifiers just erased
            for result in results:
                context.log.info(f"{path.name}: {result.describe()}")
            requests += len(results)
            no_match += sum(r.outcome == "no_match" for r in results)
            customers += sum(len(r.customer_keys) for r in results)
            rows += sum(r.rows for r in results)
    return dg.MaterializeResult(
        metadata={
            "files": len(files),
            "requests": requests,
            "requests_no_match": no_match,
            "customers_erased": customers,
            "rows_erased": rows,
        }
    )


@dg.asset(
    key=dg.AssetKey(["analytics", "pseudonymised_marts"]),
    deps=[dg.AssetKey(["marts", mart]) for mart in MARTS],
    group_name=GROUP,
    kinds={"duckdb", "python"},
    pool="duckdb",
    description="analytics.<mart>: the marts with every PII column and person key HMAC-hashed.",
)
def pseudonymised_marts(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Fails (and says which column and why) when personal data would reach analytics."""
    tagged = pii_columns(DBT_PROJECT_DIR / "models")
    with duckdb.get_connection() as con:
        built = build_analytics(con, get_settings().privacy_key(), tagged)
        violations = pii_violations(con, "analytics", tagged)
        if violations:
            for table in built:
                con.execute(f'drop table if exists analytics."{table}"')
    if violations:
        raise dg.Failure(
            description="personal data would reach the analytics schema: "
            + "; ".join(str(v) for v in violations)
        )
    return dg.MaterializeResult(
        metadata={"tables": len(built), **{f"rows/{t}": n for t, n in built.items()}}
    )


def _as_of(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dg.asset(
    key=dg.AssetKey(["privacy", "retention_purge"]),
    deps=[dg.AssetKey(["raw", "web_events"])],
    group_name=GROUP,
    kinds={"duckdb", "python"},
    pool="duckdb",
    description="Purge raw clickstream events older than the retention window (audited).",
)
def retention_purge(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    settings = get_settings()
    with duckdb.get_connection() as con:
        deleted = purge_expired_events(
            con,
            as_of=_as_of(settings.explicit_as_of or datetime.now(UTC).isoformat()),
            retention_days=settings.retention_days,
            run_id=context.run_id,
        )
    return dg.MaterializeResult(
        metadata={
            "retention_days": settings.retention_days,
            "rows_purged": sum(deleted.values()),
            **{f"rows_purged/{table}": rows for table, rows in deleted.items()},
        }
    )


retention_job = dg.define_asset_job(
    "retention_purge",
    selection=dg.AssetSelection.assets(retention_purge),
    description="Purge raw events older than the retention window.",
)
retention_daily = dg.ScheduleDefinition(
    job=retention_job, cron_schedule="30 3 * * *", execution_timezone="UTC"
)


@dg.definitions
def privacy_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[erasure_requests, retention_purge, pseudonymised_marts],
        jobs=[retention_job],
        schedules=[retention_daily],
    )

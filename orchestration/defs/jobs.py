"""Jobs, schedules and the landing-directory sensor.

- `full_pipeline` materialises everything: extracts, dbt, identity, models, quality.
- `clickstream_extract` loads new web events only; it runs every 15 minutes.
- A daily schedule runs the full pipeline; the sensor runs it when new files land.
"""

import dagster as dg

from orchestration.settings import AS_OF_TAG, get_settings
from python_models.landing import landing_fingerprint, new_files_since

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Extract every source, build all dbt models, resolve identities, score models.",
)

clickstream_extract = dg.define_asset_job(
    "clickstream_extract",
    selection=dg.AssetSelection.assets(
        dg.AssetKey(["raw", "web_events"])
    ).required_multi_asset_neighbors(),
    description="Load newly landed web/app clickstream files into raw.web_events.",
)

clickstream_every_15_minutes = dg.ScheduleDefinition(
    job=clickstream_extract,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
)


@dg.schedule(job=full_pipeline, cron_schedule="0 2 * * *", execution_timezone="UTC")
def daily_full_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Everything, daily; "now" is the scheduled time, so segment history moves a day on."""
    as_of = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M:%S")
    return dg.RunRequest(run_key=as_of, tags={AS_OF_TAG: as_of})


@dg.sensor(job=full_pipeline, minimum_interval_seconds=60)
def new_landing_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Run the pipeline when files appear or change in the landing directory."""
    root = get_settings().landing_dir
    fingerprint = landing_fingerprint(root)
    new_files = new_files_since(context.cursor, fingerprint)
    if not new_files:
        return dg.SkipReason(f"No new files in {root}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=fingerprint.digest(), tags={"new_files": str(len(new_files))})
        ],
        cursor=fingerprint.to_cursor(),
    )


@dg.definitions
def jobs_and_triggers() -> dg.Definitions:
    return dg.Definitions(
        jobs=[full_pipeline, clickstream_extract],
        schedules=[clickstream_every_15_minutes, daily_full_refresh],
        sensors=[new_landing_files],
    )

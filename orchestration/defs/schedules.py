"""Schedules: the clickstream every 15 minutes, everything daily at 02:00 UTC, and the
Python models refitted weekly (Sunday 04:00 UTC, after that night's full run).

The daily run's "now" (`as_of`) is its scheduled time, so segment history moves a day on
per run, and a re-run of a missed day computes that day, not today. Both the daily and the
15-minute runs are for the delivery day of their scheduled time (the partition of the
clickstream and order extracts, decision 0015), so they load that day's files.
"""

import dagster as dg

from orchestration.defs.jobs import clickstream_extract, full_pipeline, retrain_models
from orchestration.settings import AS_OF_TAG


def delivery_day(context: dg.ScheduleEvaluationContext) -> str:
    """The partition of a scheduled run: the UTC day of its scheduled time."""
    return context.scheduled_execution_time.strftime("%Y-%m-%d")


@dg.schedule(
    name="clickstream_extract_schedule",
    job=clickstream_extract,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
)
def clickstream_every_15_minutes(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Today's new clickstream files, every 15 minutes."""
    return dg.RunRequest(partition_key=delivery_day(context))


@dg.schedule(job=full_pipeline, cron_schedule="0 2 * * *", execution_timezone="UTC")
def daily_full_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Everything, daily; "now" is the scheduled time, so segment history moves a day on."""
    as_of = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M:%S")
    return dg.RunRequest(
        run_key=as_of, partition_key=delivery_day(context), tags={AS_OF_TAG: as_of}
    )


@dg.schedule(job=retrain_models, cron_schedule="0 4 * * 0", execution_timezone="UTC")
def weekly_model_retrain(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The models refitted weekly on the marts the night's run built, "as of" that night."""
    as_of = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M:%S")
    return dg.RunRequest(run_key=f"retrain-{as_of}", tags={AS_OF_TAG: as_of})


@dg.definitions
def schedules() -> dg.Definitions:
    return dg.Definitions(
        schedules=[clickstream_every_15_minutes, daily_full_refresh, weekly_model_retrain]
    )

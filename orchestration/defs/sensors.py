"""Sensors: run the full pipeline when landing files appear or change, and report every
failed run through the alert hook (`CUSTOMER360_ALERT_HOOK`: a log line, a JSONL file or a
webhook), the same hook the data-quality gate alerts through."""

from collections.abc import Sequence

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from orchestration.defs.extract.assets import DELIVERY_DAYS
from orchestration.defs.jobs import full_pipeline
from orchestration.settings import get_settings
from python_models.extract.loader import delivered_on
from python_models.landing import landing_fingerprint, new_files_since
from python_models.quality.alerts import run_failure_alert, send_alert


def root_cause(error: SerializableErrorInfo | None) -> str:
    """The innermost error's message: what went wrong, not Dagster's "error in op" wrapper."""
    if error is None:
        return ""
    while error.cause is not None:
        error = error.cause
    # a dg.Failure's message repeats its class path; the description is what it says
    return error.message.strip().removeprefix("dagster._core.definitions.events.Failure: ")


def landing_run_requests(new_files: Sequence[str], digest: str) -> list[dg.RunRequest]:
    """One run per delivery day among the new files (that day's partition of the clickstream
    and order extracts), and one run without a partition when a file carries no day (or a
    day outside the partitions), which loads every new file."""
    days = {delivered_on(path) for path in new_files}
    keys = sorted(d.isoformat() for d in days if d is not None)
    dated = [key for key in keys if DELIVERY_DAYS.has_partition_key(key)]
    requests = [
        dg.RunRequest(
            run_key=f"{digest}-{key}",
            partition_key=key,
            tags={"new_files": str(sum(1 for f in new_files if str(delivered_on(f)) == key))},
        )
        for key in dated
    ]
    if None in days or len(dated) < len(keys):
        requests.append(dg.RunRequest(run_key=digest, tags={"new_files": str(len(new_files))}))
    return requests


@dg.sensor(job=full_pipeline, minimum_interval_seconds=60)
def new_landing_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Run the pipeline when files appear or change in the landing directory."""
    root = get_settings().landing_dir
    fingerprint = landing_fingerprint(root)
    new_files = new_files_since(context.cursor, fingerprint)
    if not new_files:
        return dg.SkipReason(f"No new files in {root}")
    return dg.SensorResult(
        run_requests=landing_run_requests(list(new_files), fingerprint.digest()),
        cursor=fingerprint.to_cursor(),
    )


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """Send an alert naming the failed run, its failed steps and their errors."""
    failed_steps = [
        (event.step_key or "?", root_cause(event.step_failure_data.error))
        for event in context.get_step_failure_events()
    ]
    title, message, details = run_failure_alert(
        context.dagster_run.job_name,
        context.dagster_run.run_id,
        failed_steps,
        run_message=context.failure_event.message or "",
    )
    send_alert(get_settings().alert_hook, title, message, details)


@dg.definitions
def sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[new_landing_files, alert_on_run_failure])

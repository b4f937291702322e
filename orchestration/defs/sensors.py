"""Sensors: run the full pipeline when files appear or change in the landing directory."""

import dagster as dg

from orchestration.defs.jobs import full_pipeline
from orchestration.settings import get_settings
from python_models.landing import landing_fingerprint, new_files_since


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
def sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[new_landing_files])

"""Jobs: what runs together.

- `full_pipeline` materialises everything: extracts, dbt, identity, models, quality.
- `clickstream_extract` loads new web events only (the 15-minute schedule runs it).
- `retrain_models` refits the Python models (clusters, and the predictions as they land)
  on the current marts (the weekly schedule runs it).

Every step of these jobs retries a transient failure (a DuckDB file lock held by a reader,
a dropped connection) with exponential back-off; failures that a retry cannot mend (bad
data, a failed dbt test) are raised with retries disabled, so they fail at once.
When they run is in `schedules.py` and `sensors.py`.
"""

import dagster as dg

TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Extract every source, build all dbt models, resolve identities, score models.",
    op_retry_policy=TRANSIENT_RETRY,
)

clickstream_extract = dg.define_asset_job(
    "clickstream_extract",
    selection=dg.AssetSelection.assets(
        dg.AssetKey(["raw", "web_events"])
    ).required_multi_asset_neighbors(),
    description="Load newly landed web/app clickstream files into raw.web_events.",
    op_retry_policy=TRANSIENT_RETRY,
)

retrain_models = dg.define_asset_job(
    "retrain_models",
    selection=dg.AssetSelection.groups("models"),
    description="Refit the Python models (group `models`) on the current marts.",
    op_retry_policy=TRANSIENT_RETRY,
)


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[full_pipeline, clickstream_extract, retrain_models])

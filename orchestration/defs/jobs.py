"""Jobs: what runs together.

- `full_pipeline` materialises everything: extracts, dbt, identity, models, quality.
- `clickstream_extract` loads new web events only (the 15-minute schedule runs it).

When they run is in `schedules.py` and `sensors.py`.
"""

import dagster as dg

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


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[full_pipeline, clickstream_extract])

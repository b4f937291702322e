"""The single Dagster `Definitions` for customer360, assembled from `defs/`.

What every asset shares is applied here, once, rather than in each module: an owner per
group (who to ask when an asset breaks), freshness checks on the marts, and the executor
every job runs with (Dagster's default one inside the warehouse's run lock, so runs the
daemon or the UI launch cannot overlap a CLI run; see `orchestration.executor`).
"""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from orchestration.executor import run_locked_executor

# Who looks after each group of assets; the UI shows them on every asset page.
OWNERS_BY_GROUP: dict[str, list[str]] = {
    "extract": ["team:data-engineering"],
    "staging": ["team:data-engineering"],
    "intermediate": ["team:analytics-engineering"],
    "marts": ["team:analytics-engineering"],
    "identity": ["team:identity"],
    "models": ["team:data-science"],
    "quality": ["team:data-quality"],
}
DEFAULT_OWNERS = ["team:data-platform"]
# The daily schedule runs at 02:00 UTC; a mart older than a day and two hours missed a run.
MART_MAX_AGE = timedelta(hours=26)


def with_owners(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.owners:
        return spec
    return spec.replace_attributes(owners=OWNERS_BY_GROUP.get(spec.group_name, DEFAULT_OWNERS))


def mart_freshness(loaded: dg.Definitions) -> dg.Definitions:
    """A freshness check on every mart, and the sensor that evaluates them between runs."""
    marts = sorted(
        (spec.key for spec in loaded.resolve_all_asset_specs() if spec.key.path[0] == "marts"),
        key=lambda key: key.to_user_string(),
    )
    checks = dg.build_last_update_freshness_checks(assets=marts, lower_bound_delta=MART_MAX_AGE)
    sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=checks, name="mart_freshness", minimum_interval_seconds=600
    )
    return dg.Definitions(asset_checks=checks, sensors=[sensor])


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    return dg.Definitions.merge(
        loaded.map_asset_specs(func=with_owners),
        mart_freshness(loaded),
        dg.Definitions(executor=run_locked_executor),
    )

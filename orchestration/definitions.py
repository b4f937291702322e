"""The single Dagster `Definitions` for customer360, assembled from `defs/`.

What every asset shares is applied here, once, rather than in each module: an owner per
group (who to ask when an asset breaks), a freshness policy on every mart (evaluated by
the Dagster daemon that `make ui` runs; `freshness: enabled` in `orchestration/dagster.yaml`),
and the executor every job runs with (Dagster's default one inside the warehouse's run lock,
so runs the daemon or the UI launch cannot overlap a CLI run; see `orchestration.executor`).
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
MART_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=MART_MAX_AGE)


def is_mart(spec: dg.AssetSpec) -> bool:
    return spec.key.path[0] == "marts"


def with_owners_and_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The group's owners (unless the asset names its own) and, on a mart, the freshness policy."""
    owners = spec.owners or OWNERS_BY_GROUP.get(spec.group_name, DEFAULT_OWNERS)
    if is_mart(spec) and spec.freshness_policy is None:
        return spec.replace_attributes(owners=owners, freshness_policy=MART_FRESHNESS)
    return spec.replace_attributes(owners=owners)


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    return dg.Definitions.merge(
        loaded.map_asset_specs(func=with_owners_and_freshness),
        dg.Definitions(executor=run_locked_executor),
    )

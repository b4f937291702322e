"""Every setting of a run, read in one place, with one default each.

Settings come from the environment when they are asked for (never at import time), so a
test or a CLI flag can change them before a run starts. Dagster resources read the same
names through `dg.EnvVar`; library code in `python_models/` never reads the environment:
it receives these values as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample"
SAMPLE_TRUTH_DIR = PROJECT_ROOT / "seeds" / "sample_truth"
AS_OF_TAG = "customer360/as_of"  # a run tag that overrides "now" for that run

# The one default of each setting; the environment variable of the same name overrides it.
DEFAULTS: dict[str, str] = {
    "CUSTOMER360_WAREHOUSE": str(PROJECT_ROOT / "data" / "warehouse.duckdb"),
    "CUSTOMER360_LANDING_DIR": str(SAMPLE_LANDING_DIR),
    "CUSTOMER360_AS_OF": "2026-11-01T00:00:00",
    "CUSTOMER360_DUCKDB_MEMORY_LIMIT": "6GB",
}
DEFAULT_AS_OF = DEFAULTS["CUSTOMER360_AS_OF"]


@dataclass(frozen=True)
class Settings:
    """Where the warehouse is, where files land, what "now" is, how much memory DuckDB gets."""

    warehouse: Path
    landing_dir: Path
    as_of: str
    duckdb_memory_limit: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def read(name: str) -> str:
            return env.get(name) or DEFAULTS[name]

        return cls(
            warehouse=Path(read("CUSTOMER360_WAREHOUSE")).resolve(),
            landing_dir=Path(read("CUSTOMER360_LANDING_DIR")).resolve(),
            as_of=read("CUSTOMER360_AS_OF"),
            duckdb_memory_limit=read("CUSTOMER360_DUCKDB_MEMORY_LIMIT"),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def subprocess_env(self) -> dict[str, str]:
        """The environment a child process (dbt, a second CLI) needs to see these settings."""
        return {
            **os.environ,
            "CUSTOMER360_WAREHOUSE": str(self.warehouse),
            "CUSTOMER360_LANDING_DIR": str(self.landing_dir),
            "CUSTOMER360_AS_OF": self.as_of,
            "CUSTOMER360_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
        }


def get_settings() -> Settings:
    """The settings of this process, as the environment says now."""
    return Settings.from_env()


#: the live sources' variables: unset means "not configured" (the shop and CRM then load from
#: landing files); when set, their Dagster resources read them through `dg.EnvVar`, so the
#: values (a password, a token) never appear in the UI or in run metadata.
SHOP_DATABASE_URL = "CUSTOMER360_SHOP_DATABASE_URL"
CRM_API_URL = "CUSTOMER360_CRM_API_URL"
CRM_API_TOKEN = "CUSTOMER360_CRM_API_TOKEN"


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether an optional setting (a live source's URL or token) has a value."""
    return bool((os.environ if environ is None else environ).get(name))

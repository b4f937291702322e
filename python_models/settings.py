"""Where things live: one place that reads the environment, so dbt, Dagster and the CLI agree."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample"
SAMPLE_TRUTH_DIR = PROJECT_ROOT / "seeds" / "sample_truth"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_AS_OF = "2026-11-01T00:00:00"
AS_OF_TAG = "customer360/as_of"  # a run tag that overrides "now" for that run


# dbt (profiles.yml) and Dagster both read CUSTOMER360_WAREHOUSE; fixing its default here, once,
# means a process that imports this module hands every subprocess the same warehouse.
os.environ.setdefault("CUSTOMER360_WAREHOUSE", str(PROJECT_ROOT / "data" / "warehouse.duckdb"))


def warehouse_path() -> Path:
    """The DuckDB file every stage reads and writes (env `CUSTOMER360_WAREHOUSE`)."""
    return Path(os.environ["CUSTOMER360_WAREHOUSE"]).resolve()


def landing_dir() -> Path:
    """Where new source files arrive (env `CUSTOMER360_LANDING_DIR`; default the sample)."""
    return Path(os.environ.get("CUSTOMER360_LANDING_DIR", SAMPLE_LANDING_DIR)).resolve()


def as_of() -> str:
    """'Now' for time-windowed logic (env `CUSTOMER360_AS_OF`), an ISO timestamp."""
    return os.environ.get("CUSTOMER360_AS_OF", DEFAULT_AS_OF)


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for every connection, dbt's included (env
    `CUSTOMER360_DUCKDB_MEMORY_LIMIT`). DuckDB otherwise takes 80 % of the machine and keeps
    what it takes as cache; with a limit it spills large joins and sorts to disk instead."""
    return os.environ.get("CUSTOMER360_DUCKDB_MEMORY_LIMIT", "6GB")

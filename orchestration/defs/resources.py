"""Resources shared by every asset: the one DuckDB warehouse, with the one memory limit.

Both come from `orchestration.settings` when the definitions load (never at import), so the
UI, the CLI and the tests point at whichever warehouse the environment names.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    return dg.Definitions(
        resources={
            "duckdb": DuckDBResource(
                database=str(settings.warehouse),
                connection_config={"memory_limit": settings.duckdb_memory_limit},
            ),
        }
    )

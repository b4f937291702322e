"""Resources shared by every asset: the one DuckDB warehouse and the landing directory."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from python_models.settings import duckdb_memory_limit, warehouse_path


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "duckdb": DuckDBResource(
                database=str(warehouse_path()),
                connection_config={"memory_limit": duckdb_memory_limit()},
            ),
        }
    )

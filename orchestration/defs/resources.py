"""Resources shared by every asset: the one DuckDB warehouse and the landing directory."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from python_models.settings import warehouse_path


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "duckdb": DuckDBResource(database=str(warehouse_path())),
        }
    )

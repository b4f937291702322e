"""Python model assets: they read dbt's features and write back to the `models` schema.

Their connections come from `models_connection`: these assets hold pandas, numpy and scipy
data beside DuckDB in one process, and DuckDB's limit bounds only its own buffers (which it
keeps full of cached table blocks), so DuckDB gets a smaller share here
(`CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT`) and the process as a whole stays within budget.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings
from python_models.warehouse import set_memory_limit


@contextmanager
def models_connection(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse connection whose DuckDB holds at most the models' share of memory."""
    with resource.get_connection() as con:
        set_memory_limit(con, get_settings().models_duckdb_memory_limit)
        yield con

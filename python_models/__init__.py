"""customer360's Python side: pure functions that the Dagster assets call.

Each sub-package is one stage of the data path (see docs/architecture.md); functions take
DataFrames, Arrow tables or a DuckDB connection and return results, so tests can drive them
with small hand-made data.
"""

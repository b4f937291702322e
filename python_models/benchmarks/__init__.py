"""Yardsticks: our stages measured side by side with a plain alternative on the same data.

`sql_yardstick` times the heavy dbt models against hand-written DuckDB SQL that produces the
same rows, so the closing notes can report what dbt's portability and structure cost.
"""

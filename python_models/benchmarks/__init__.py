"""Every benchmark and yardstick of the project, in one place (decision 0006).

`pipeline` times every heavy stage of the pipeline (`make bench SCALE=N`); `sql_yardstick`
times the heavy dbt models against hand-written DuckDB SQL that produces the same rows, so
the closing notes can report what dbt's portability and structure cost.
"""

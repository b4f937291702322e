"""`models.model_runs`: one row per training of any model (clusters, churn, CLV, recommendations).

One table for every model, told apart by `model`, so an analyst reads the history of all
of them in one place. Columns only some models fill stay NULL for the others (`k` and
`silhouette` are the clustering's). New columns are added in place, so a warehouse made by
an older version keeps its rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

MODEL_RUNS_COLUMNS: dict[str, str] = {
    "run_id": "varchar",
    "model": "varchar",
    "version": "varchar",
    "algorithm": "varchar",
    "k": "integer",
    "silhouette": "double",
    "inertia_by_k": "json",
    "silhouette_by_k": "json",
    "n_train": "bigint",
    "n_scored": "bigint",
    "trained_at": "timestamp",
    "metrics": "json",
    # the period the training data came from, its settings and inputs, and the verdict
    "data_window_start": "timestamp",
    "data_window_end": "timestamp",
    "parameters": "json",
    "features": "json",
    "promoted": "boolean",
    "promotion_reason": "varchar",
}


def append_model_run(con: duckdb.DuckDBPyConnection, row: Mapping[str, object]) -> None:
    """Insert one run (unknown keys are an error; missing ones are NULL), inside the caller's
    transaction if one is open."""
    unknown = sorted(set(row) - set(MODEL_RUNS_COLUMNS))
    if unknown:
        raise KeyError(f"not model_runs columns: {unknown}")
    con.execute("create schema if not exists models")
    columns = ", ".join(f"{c} {t}" for c, t in MODEL_RUNS_COLUMNS.items())
    con.execute(f"create table if not exists models.model_runs ({columns})")
    for column, sql_type in MODEL_RUNS_COLUMNS.items():
        con.execute(f"alter table models.model_runs add column if not exists {column} {sql_type}")
    names = list(row)
    placeholders = ", ".join(f"${c}" for c in names)
    con.execute(
        f"insert into models.model_runs ({', '.join(names)}) values ({placeholders})", dict(row)
    )

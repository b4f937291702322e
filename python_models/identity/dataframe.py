"""Resolve a user's own DataFrame of person records into clusters, in one call."""

from __future__ import annotations

import duckdb
import pandas as pd

from python_models.identity.clustering import cluster_ids_from_labels, cluster_records
from python_models.identity.config import MatchConfig
from python_models.identity.mapping import (
    ColumnMapping,
    MappingError,
    check_mapping,
    missing_columns,
)
from python_models.identity.predict import find_links
from python_models.warehouse import connect


def resolve_dataframe(
    df: pd.DataFrame,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen, immutable
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    memory_limit: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link and cluster the records of `df`, on `con` or else an in-memory DuckDB with
    `memory_limit` (one of the two is required).

    Returns (clusters, links): clusters has `record_id`, `cluster_id` (smallest record id
    in the cluster) and `cluster_size`, one row per input record; links is `find_links`'
    output. Only auto-linked pairs join clusters; review pairs are returned for a human.
    """
    check_mapping(mapping, config)
    missing = missing_columns(mapping, set(map(str, df.columns)))
    if missing:
        raise MappingError(
            "mapped column(s) not in the data: "
            + ", ".join(f"{role} -> {column!r}" for role, column in missing)
        )
    own = con is None
    if con is None:
        if memory_limit is None:
            raise TypeError("resolve_dataframe needs a connection or a memory_limit")
        con = connect(":memory:", memory_limit=memory_limit)
    try:
        con.register("_c360m_input", df)
        links = find_links(con, "_c360m_input", mapping, config)
    finally:
        con.unregister("_c360m_input")
        if own:
            con.close()
    record_ids = df[mapping.record_id].astype(str)
    auto = links[links["decision"] == "auto_link"]
    labels = cluster_records(record_ids, auto["left_id"], auto["right_id"])
    clusters = pd.DataFrame({"record_id": record_ids.values})
    clusters["cluster_id"] = cluster_ids_from_labels(record_ids, labels).values
    clusters["cluster_size"] = clusters.groupby("cluster_id")["record_id"].transform("size")
    return clusters, links

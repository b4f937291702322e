"""Resolve a user's own DataFrame of person records into clusters, in one call."""

from __future__ import annotations

import duckdb
import pandas as pd

from python_models.identity.clustering import cluster_ids_from_labels, cluster_records
from python_models.identity.config import MatchConfig
from python_models.identity.mapping import ColumnMapping
from python_models.identity.predict import find_links


def resolve_dataframe(
    df: pd.DataFrame,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen, immutable
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link and cluster the records of `df`.

    Returns (clusters, links): clusters has `record_id`, `cluster_id` (smallest record id
    in the cluster) and `cluster_size`, one row per input record; links is `find_links`'
    output. Only auto-linked pairs join clusters; review pairs are returned for a human.
    """
    missing = [c for c in mapping.roles().values() if c not in df.columns]
    if mapping.record_id not in df.columns:
        missing.insert(0, mapping.record_id)
    if missing:
        raise ValueError(f"columns {missing} named in the mapping are not in the data")
    own = con is None
    con = con or duckdb.connect()
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

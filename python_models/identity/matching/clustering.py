"""Turn pairwise links into clusters of records (one cluster = one person).

Clusters are the connected components of the link graph, found with scipy's sparse graph
routines in time linear in records + links.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def cluster_records(
    record_ids: Sequence | np.ndarray | pd.Series,
    links_left: Sequence | np.ndarray | pd.Series,
    links_right: Sequence | np.ndarray | pd.Series,
) -> np.ndarray:
    """Cluster label (0..k-1) for each record, aligned to `record_ids`.

    Records without links get a cluster of their own. Links that name a record id not in
    `record_ids` raise, naming the first unknown id, instead of being silently dropped.
    """
    ids = pd.Index(pd.Series(record_ids).astype(str))
    if not ids.is_unique:
        dup = ids[ids.duplicated()][0]
        raise ValueError(f"record_ids must be unique; {dup!r} appears more than once")
    left = ids.get_indexer(pd.Series(links_left).astype(str))
    right = ids.get_indexer(pd.Series(links_right).astype(str))
    unknown = np.flatnonzero((left < 0) | (right < 0))
    if unknown.size:
        i = unknown[0]
        bad = pd.Series(links_left).iloc[i] if left[i] < 0 else pd.Series(links_right).iloc[i]
        raise ValueError(f"link #{i} names record id {bad!r} that is not in record_ids")
    n = len(ids)
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def cluster_ids_from_labels(record_ids: Sequence | pd.Series, labels: np.ndarray) -> pd.Series:
    """Readable cluster id: the smallest record id in each cluster (stable under relabelling)."""
    frame = pd.DataFrame({"record_id": pd.Series(record_ids).astype(str).values, "label": labels})
    first = frame.groupby("label")["record_id"].transform("min")
    return pd.Series(first.values, index=frame.index, name="cluster_id")

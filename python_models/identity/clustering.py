"""Turn pairwise links into clusters of records (one cluster = one person).

Clusters are the connected components of the link graph, found with scipy's sparse graph
routines in time linear in records + links. `connected_components` is the one
implementation: the warehouse pipeline calls it on dense record numbers, the
bring-your-own-data resolver through `cluster_records` on its own record ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as _scipy_components


def connected_components(n_records: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label per record 0..n_records-1, given undirected links left[i]-right[i].

    Labels are the smallest record number in each component, so they do not depend on the
    order the links arrive in.
    """
    if len(left) != len(right):
        raise ValueError(f"left has {len(left)} link ends, right has {len(right)}")
    if n_records == 0:
        return np.zeros(0, dtype=np.int64)
    data = np.ones(len(left), dtype=np.int8)
    graph = coo_matrix(
        (data, (np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))),
        shape=(n_records, n_records),
    ).tocsr()
    _, raw = _scipy_components(graph, directed=False)
    # canonical label: smallest member record of each component
    smallest = np.full(raw.max() + 1, n_records, dtype=np.int64)
    np.minimum.at(smallest, raw, np.arange(n_records, dtype=np.int64))
    return smallest[raw]


def cluster_records(
    record_ids: Sequence | np.ndarray | pd.Series,
    links_left: Sequence | np.ndarray | pd.Series,
    links_right: Sequence | np.ndarray | pd.Series,
) -> np.ndarray:
    """Cluster label for each record, aligned to `record_ids`: the position of the cluster's
    first record in `record_ids`.

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
    return connected_components(len(ids), left, right)


def cluster_ids_from_labels(record_ids: Sequence | pd.Series, labels: np.ndarray) -> pd.Series:
    """Readable cluster id: the smallest record id in each cluster (stable under relabelling)."""
    frame = pd.DataFrame({"record_id": pd.Series(record_ids).astype(str).values, "label": labels})
    first = frame.groupby("label")["record_id"].transform("min")
    return pd.Series(first.values, index=frame.index, name="cluster_id")

"""Stable customer keys: carry keys from the previous identity graph onto this run's clusters.

`assign_customer_keys` is pure (DataFrames in, DataFrames out). Its promises:

- a cluster holding records of exactly one previous key keeps that key;
- a cluster holding records of several previous keys keeps the OLDEST (earliest
  `first_linked_at`, then the smallest key) and reports the others as merges;
- a previous key whose records now sit in several clusters stays with the largest part
  (ties: the part with the smallest record id); each other part is reported as a split;
- every other cluster gets a new key `c_` + 12 hex characters, the MD5 of its smallest
  record id (re-hashed with a counter on collision), so a re-run yields the same keys.

Records that appear only in the previous graph (deleted at source) do not vote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

KEY_PREFIX = "c_"
KEY_HEX_CHARS = 12


@dataclass(frozen=True)
class KeyAssignment:
    """The outcome of carrying keys forward.

    `cluster_keys`: cluster_id, customer_key, key_origin ('kept' or 'new').
    `merges`: surviving_key, merged_key, evidence (JSON text).
    `splits`: original_key, new_key, evidence (JSON text).
    """

    cluster_keys: pd.DataFrame
    merges: pd.DataFrame
    splits: pd.DataFrame


def new_customer_key(seed: str, attempt: int = 0) -> str:
    """The deterministic key for a cluster whose smallest record id is `seed`."""
    text = seed if attempt == 0 else f"{seed}#{attempt}"
    return KEY_PREFIX + hashlib.md5(text.encode("utf-8")).hexdigest()[:KEY_HEX_CHARS]


def first_key_sql(seed: str) -> str:
    """SQL for `new_customer_key(seed)` (first attempt) of the SQL expression `seed`, so a
    caller grouping clusters in SQL can hash there (`assign_from_overlap`'s `first_key`)."""
    return f"'{KEY_PREFIX}' || left(md5({seed}), {KEY_HEX_CHARS})"


def _new_keys(unkeyed: pd.DataFrame, taken: set[str]) -> pd.Series:
    """Keys for the clusters `unkeyed` (index cluster_id; seed, optional first_key).

    When every first key is new and unique (nearly always: 48 bits), they are the keys;
    otherwise the clusters are keyed one by one in seed order (`_mint_keys`)."""
    if "first_key" in unkeyed:
        first = unkeyed["first_key"]
        if first.is_unique and not first.isin(taken).any():
            return first
    ordered = unkeyed.sort_values("seed", kind="mergesort")
    return pd.Series(
        _mint_keys(ordered["seed"].astype(str).tolist(), set(taken)), index=ordered.index
    )


def _mint_keys(seeds: list[str], taken: set[str]) -> list[str]:
    """New keys for `seeds` (in order), never reusing a key in `taken` or minted earlier."""
    keys: list[str] = []
    for seed in seeds:
        attempt = 0
        key = new_customer_key(seed)
        while key in taken:
            attempt += 1
            key = new_customer_key(seed, attempt)
        taken.add(key)
        keys.append(key)
    return keys


def assign_customer_keys(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    retired_keys: Iterable[str] = (),
) -> KeyAssignment:
    """Give every cluster in `current` a customer key, reusing `previous` keys where owed.

    current: record_id (str), cluster_id (any hashable) — one row per record.
    previous: record_id, customer_key, first_linked_at — the previous graph.
    retired_keys: keys merged away in earlier runs; never minted again.
    """
    _require_columns(current, ("record_id", "cluster_id"), "current")
    _require_columns(previous, ("record_id", "customer_key", "first_linked_at"), "previous")
    if current["record_id"].duplicated().any():
        dupes = current.loc[current["record_id"].duplicated(), "record_id"].head(5).tolist()
        raise ValueError(f"current: record ids appear in more than one cluster: {dupes}")

    # smallest record per cluster (sort + first: a string groupby-min is pure Python in pandas)
    clusters = (
        current.sort_values("record_id", kind="stable")
        .drop_duplicates("cluster_id")
        .set_index("cluster_id")["record_id"]
        .rename("seed")
        .to_frame()
        .join(current.groupby("cluster_id", sort=False).size().rename("cluster_records"))
    )
    present = previous.merge(current[["record_id", "cluster_id"]], on="record_id", how="inner")
    overlap = (
        present.groupby(["customer_key", "cluster_id"], sort=False)
        .size()
        .rename("records")
        .reset_index()
    )
    key_age = present.groupby("customer_key", sort=False)["first_linked_at"].min()
    taken = set(previous["customer_key"].unique()) | set(retired_keys)
    return assign_from_overlap(clusters, overlap, key_age, taken)


def assign_from_overlap(
    clusters: pd.DataFrame,
    overlap: pd.DataFrame,
    key_age: pd.Series,
    taken_keys: set[str],
) -> KeyAssignment:
    """`assign_customer_keys` on aggregates, for callers that group records in SQL.

    clusters: index cluster_id; seed (smallest record id), cluster_records (record count),
        optionally first_key (`new_customer_key(seed)`, e.g. hashed in SQL by `first_key_sql`).
    overlap: customer_key, cluster_id, records — previous keys' records still present, per
        current cluster.
    key_age: customer_key -> earliest first_linked_at of its present records.
    taken_keys: every previous and retired key; never minted again.
    """
    overlap = overlap.join(clusters["seed"], on="cluster_id")
    # each previous key stays with the cluster holding most of its records
    overlap = overlap.sort_values(
        ["customer_key", "records", "seed"], ascending=[True, False, True], kind="mergesort"
    )
    overlap["is_home"] = ~overlap.duplicated("customer_key", keep="first")
    homes = overlap[overlap["is_home"]].copy()
    homes["key_first_linked_at"] = homes["customer_key"].map(key_age)
    homes = homes.sort_values(
        ["cluster_id", "key_first_linked_at", "customer_key"], kind="mergesort"
    )
    homes["is_survivor"] = ~homes.duplicated("cluster_id", keep="first")
    survivors = homes[homes["is_survivor"]].set_index("cluster_id")["customer_key"]

    clusters = clusters[
        [c for c in ("seed", "cluster_records", "first_key") if c in clusters]
    ].copy()
    clusters["customer_key"] = survivors.reindex(clusters.index)
    clusters["key_origin"] = clusters["customer_key"].notna().map({True: "kept", False: "new"})
    unkeyed = clusters[clusters["customer_key"].isna()]
    clusters.loc[unkeyed.index, "customer_key"] = _new_keys(unkeyed, taken_keys)
    cluster_key = clusters["customer_key"]

    merges = _merge_rows(homes[~homes["is_survivor"]], cluster_key, clusters["cluster_records"])
    splits = _split_rows(overlap, cluster_key)
    cluster_keys = (
        clusters.rename_axis("cluster_id")
        .reset_index()[["cluster_id", "customer_key", "key_origin"]]
        .reset_index(drop=True)
    )
    return KeyAssignment(cluster_keys=cluster_keys, merges=merges, splits=splits)


def _merge_rows(merged: pd.DataFrame, cluster_key: pd.Series, size: pd.Series) -> pd.DataFrame:
    rows = [
        {
            "surviving_key": cluster_key[row.cluster_id],
            "merged_key": row.customer_key,
            "evidence": json.dumps(
                {
                    "reason": "clusters_joined",
                    "merged_key_records": int(row.records),
                    "cluster_records": int(size[row.cluster_id]),
                }
            ),
        }
        for row in merged.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=["surviving_key", "merged_key", "evidence"])


def _split_rows(overlap: pd.DataFrame, cluster_key: pd.Series) -> pd.DataFrame:
    parts = overlap[~overlap["is_home"]]
    rows = [
        {
            "original_key": row.customer_key,
            "new_key": cluster_key[row.cluster_id],
            "evidence": json.dumps(
                {"reason": "records_separated", "records_moved": int(row.records)}
            ),
        }
        for row in parts.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=["original_key", "new_key", "evidence"])


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; has {list(frame.columns)}")

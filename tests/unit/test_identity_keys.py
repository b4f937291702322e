"""Stable customer keys: what a person's key does when data is added, merged or split."""

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from python_models.identity.keys import (
    assign_customer_keys,
    assign_from_overlap,
    first_key_sql,
    new_customer_key,
)

T0 = datetime(2026, 1, 1)
T1 = datetime(2026, 2, 1)
T2 = datetime(2026, 3, 1)


def clusters(**members: list[str]) -> pd.DataFrame:
    """`clusters(a=["crm:1", "shop:9"], b=[...])` -> one row per record."""
    rows = [(rec, cid) for cid, recs in members.items() for rec in recs]
    return pd.DataFrame(rows, columns=["record_id", "cluster_id"])


def graph(rows: list[tuple[str, str, datetime]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_id", "customer_key", "first_linked_at"])


EMPTY = graph([])


def key_of(result, cluster_id: str) -> str:
    keys = result.cluster_keys.set_index("cluster_id")["customer_key"]
    return keys[cluster_id]


def as_previous(current: pd.DataFrame, result, when: datetime) -> pd.DataFrame:
    """The graph a run would have written: every record with its cluster's key."""
    keyed = current.merge(result.cluster_keys, on="cluster_id")
    return keyed.assign(first_linked_at=when)[["record_id", "customer_key", "first_linked_at"]]


def test_first_run_mints_deterministic_keys_from_smallest_record():
    current = clusters(a=["shop:7", "crm:2"], b=["web_user:U1"])
    result = assign_customer_keys(current, EMPTY)
    assert key_of(result, "a") == new_customer_key("crm:2")
    assert key_of(result, "b") == new_customer_key("web_user:U1")
    assert key_of(result, "a").startswith("c_") and len(key_of(result, "a")) == 14
    assert set(result.cluster_keys["key_origin"]) == {"new"}
    assert result.merges.empty and result.splits.empty


def test_rerun_with_same_input_changes_nothing():
    current = clusters(a=["crm:1", "shop:1"], b=["crm:2"], c=["support:9"])
    first = assign_customer_keys(current, EMPTY)
    # cluster ids are arbitrary labels and may differ between runs
    relabelled = current.assign(cluster_id=current["cluster_id"].map({"a": 3, "b": 1, "c": 2}))
    second = assign_customer_keys(relabelled, as_previous(current, first, T0))
    before = as_previous(current, first, T0).set_index("record_id")["customer_key"]
    after = as_previous(relabelled, second, T1).set_index("record_id")["customer_key"]
    assert before.sort_index().equals(after.sort_index())
    assert set(second.cluster_keys["key_origin"]) == {"kept"}
    assert second.merges.empty and second.splits.empty


def test_new_record_joining_a_customer_keeps_the_key_even_if_it_sorts_first():
    previous = graph([("crm:5", "c_aaaaaaaaaaaa", T0), ("shop:5", "c_aaaaaaaaaaaa", T0)])
    # a loyalty record sorts before crm:5 but the cluster must not be renamed
    current = clusters(x=["crm:5", "shop:5", "crm:0"])
    result = assign_customer_keys(current, previous)
    assert key_of(result, "x") == "c_aaaaaaaaaaaa"
    assert result.merges.empty and result.splits.empty


def test_brand_new_people_get_new_keys_alongside_existing_ones():
    previous = graph([("crm:1", "c_aaaaaaaaaaaa", T0)])
    current = clusters(old=["crm:1"], new=["crm:2", "shop:2"])
    result = assign_customer_keys(current, previous)
    assert key_of(result, "old") == "c_aaaaaaaaaaaa"
    assert key_of(result, "new") == new_customer_key("crm:2")
    origins = result.cluster_keys.set_index("cluster_id")["key_origin"]
    assert origins["old"] == "kept" and origins["new"] == "new"


def test_merge_of_two_keeps_the_oldest_key_and_records_the_merge():
    previous = graph(
        [
            ("crm:1", "c_bbbbbbbbbbbb", T1),
            ("shop:1", "c_bbbbbbbbbbbb", T1),
            ("crm:2", "c_ffffffffffff", T0),  # older, though its key sorts later
        ]
    )
    current = clusters(m=["crm:1", "shop:1", "crm:2"])
    result = assign_customer_keys(current, previous)
    assert key_of(result, "m") == "c_ffffffffffff"
    assert result.merges[["surviving_key", "merged_key"]].values.tolist() == [
        ["c_ffffffffffff", "c_bbbbbbbbbbbb"]
    ]
    assert '"merged_key_records": 2' in result.merges["evidence"].iloc[0]
    assert result.splits.empty


def test_merge_with_equal_age_keeps_the_smallest_key():
    previous = graph([("crm:1", "c_222222222222", T0), ("crm:2", "c_111111111111", T0)])
    result = assign_customer_keys(clusters(m=["crm:1", "crm:2"]), previous)
    assert key_of(result, "m") == "c_111111111111"
    assert result.merges["merged_key"].tolist() == ["c_222222222222"]


def test_merge_of_three_records_two_merges_into_the_oldest():
    previous = graph(
        [
            ("crm:1", "c_333333333333", T2),
            ("crm:2", "c_111111111111", T0),
            ("crm:3", "c_222222222222", T1),
        ]
    )
    current = clusters(m=["crm:1", "crm:2", "crm:3", "shop:new"])
    result = assign_customer_keys(current, previous)
    assert key_of(result, "m") == "c_111111111111"
    merges = result.merges.sort_values("merged_key")
    assert merges["surviving_key"].tolist() == ["c_111111111111", "c_111111111111"]
    assert merges["merged_key"].tolist() == ["c_222222222222", "c_333333333333"]


def test_split_larger_part_keeps_the_key_and_the_other_part_is_recorded():
    previous = graph(
        [
            ("crm:1", "c_aaaaaaaaaaaa", T0),
            ("shop:1", "c_aaaaaaaaaaaa", T0),
            ("shop:2", "c_aaaaaaaaaaaa", T0),
            ("crm:9", "c_aaaaaaaaaaaa", T0),
        ]
    )
    current = clusters(big=["crm:1", "shop:1", "shop:2"], small=["crm:9"])
    result = assign_customer_keys(current, previous)
    assert key_of(result, "big") == "c_aaaaaaaaaaaa"
    assert key_of(result, "small") == new_customer_key("crm:9")
    assert result.splits[["original_key", "new_key"]].values.tolist() == [
        ["c_aaaaaaaaaaaa", new_customer_key("crm:9")]
    ]
    assert result.merges.empty


def test_split_into_equal_parts_keeps_the_key_with_the_smallest_record():
    previous = graph([("crm:1", "c_aaaaaaaaaaaa", T0), ("crm:2", "c_aaaaaaaaaaaa", T0)])
    result = assign_customer_keys(clusters(p=["crm:2"], q=["crm:1"]), previous)
    assert key_of(result, "q") == "c_aaaaaaaaaaaa"
    assert key_of(result, "p") != "c_aaaaaaaaaaaa"
    assert len(result.splits) == 1


def test_split_part_joining_another_customer_is_a_split_not_a_merge():
    previous = graph(
        [
            ("crm:1", "c_aaaaaaaaaaaa", T0),
            ("shop:1", "c_aaaaaaaaaaaa", T0),
            ("shop:2", "c_aaaaaaaaaaaa", T0),
            ("crm:5", "c_bbbbbbbbbbbb", T1),
        ]
    )
    # shop:2 was wrongly with A; now it sits with B's record
    current = clusters(a=["crm:1", "shop:1"], b=["crm:5", "shop:2"])
    result = assign_customer_keys(current, previous)
    assert key_of(result, "a") == "c_aaaaaaaaaaaa"
    assert key_of(result, "b") == "c_bbbbbbbbbbbb"
    assert result.merges.empty
    assert result.splits[["original_key", "new_key"]].values.tolist() == [
        ["c_aaaaaaaaaaaa", "c_bbbbbbbbbbbb"]
    ]


def test_new_key_collision_is_rehashed_and_never_reuses_a_taken_or_retired_key():
    taken = new_customer_key("crm:1")
    retired = new_customer_key("crm:1", attempt=1)
    previous = graph([("shop:9", taken, T0)])
    current = clusters(old=["shop:9"], new=["crm:1"])
    result = assign_customer_keys(current, previous, retired_keys=[retired])
    assert key_of(result, "old") == taken
    assert key_of(result, "new") == new_customer_key("crm:1", attempt=2)
    assert result.cluster_keys["customer_key"].is_unique


def test_keys_hashed_in_sql_are_the_keys_python_mints_and_collisions_still_rehash():
    seeds = ["crm:1", "shop:Zoë-7", "web_user:U1"]
    hashed = duckdb.sql(
        f"select {first_key_sql('seed')} as k from unnest(?::VARCHAR[]) as t(seed)", params=[seeds]
    ).fetchall()
    assert [k for (k,) in hashed] == [new_customer_key(seed) for seed in seeds]
    # the resolver hands SQL-hashed first keys in; a taken one is still re-hashed
    frame = pd.DataFrame(
        {"seed": seeds, "cluster_records": [1, 1, 1], "first_key": [k for (k,) in hashed]},
        index=pd.Index(["a", "b", "c"], name="cluster_id"),
    )
    no_overlap = pd.DataFrame(columns=["customer_key", "cluster_id", "records"])
    taken = {new_customer_key("shop:Zoë-7")}
    result = assign_from_overlap(frame, no_overlap, pd.Series(dtype="datetime64[us]"), taken)
    assert key_of(result, "a") == new_customer_key("crm:1")
    assert key_of(result, "b") == new_customer_key("shop:Zoë-7", attempt=1)
    assert key_of(result, "c") == new_customer_key("web_user:U1")


def test_records_deleted_at_source_do_not_vote():
    previous = graph(
        [
            ("crm:1", "c_aaaaaaaaaaaa", T0),
            ("gone:1", "c_aaaaaaaaaaaa", T0),
            ("gone:2", "c_aaaaaaaaaaaa", T0),
            ("crm:2", "c_aaaaaaaaaaaa", T0),
        ]
    )
    # resolve passes only the previous rows of records still present
    present = previous[~previous["record_id"].str.startswith("gone")]
    result = assign_customer_keys(clusters(a=["crm:1", "crm:2"]), present)
    assert key_of(result, "a") == "c_aaaaaaaaaaaa"
    assert result.splits.empty


def test_a_record_in_two_clusters_is_rejected():
    bad = pd.DataFrame({"record_id": ["crm:1", "crm:1"], "cluster_id": ["a", "b"]})
    with pytest.raises(ValueError, match="more than one cluster"):
        assign_customer_keys(bad, EMPTY)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="first_linked_at"):
        assign_customer_keys(clusters(a=["crm:1"]), EMPTY.drop(columns="first_linked_at"))

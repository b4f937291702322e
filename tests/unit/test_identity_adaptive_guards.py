"""The matcher's guards adapt to the data (issue #20): an exact id shared by one person's
typo'd surnames still counts, a swapped name with a nickname is still a swap, and the
household guard switches on only where the data shows households."""

import json
import random

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.settings import DEFAULT_MEMORY_LIMIT as MEMORY_LIMIT
from python_models.identity import ColumnMapping, MatchConfig, find_links, resolve_dataframe
from python_models.identity.comparisons import build_comparisons, training_comparisons
from python_models.identity.training import household_evidence, household_guard

GIVEN = ["anna", "ben", "carla", "dev", "emil", "fatima", "george", "hana", "ivan", "julia"]
FAMILY = ["smith", "okafor", "nguyen", "garcia", "kowalski", "muller", "rossi", "tanaka"]
STREETS = ["high street", "mill lane", "church road", "station road", "park avenue"]
MAPPING = ColumnMapping(
    record_id="id", given_name="first", family_name="last", street="street",
    postcode="postcode", birth_date="dob", person_ids=["ssn"],
)  # fmt: skip


def _people(n: int, seed: int = 3) -> list[dict]:
    """Distinct people, every third with a second record (one field typo'd)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = {
            "id": f"p{i}",
            "first": rng.choice(GIVEN),
            "last": rng.choice(FAMILY) + rng.choice(["", "son", "ley", "er"]),
            "street": f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
            "postcode": f"AB{rng.randint(1, 40)} {rng.randint(1, 9)}CD",
            "dob": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "ssn": f"{rng.randrange(10**8):08d}",
        }
        rows.append(row)
        if i % 3 == 0:
            rows.append({**row, "id": f"p{i}dup", "street": row["street"] + "e"})
    return rows


def _cluster_of(clusters: pd.DataFrame) -> dict[str, str]:
    return dict(zip(clusters["record_id"], clusters["cluster_id"], strict=True))


def test_an_id_shared_by_one_persons_typod_surnames_still_links():
    # one person, five records, the surname typo'd a different way each time: the exact
    # national id must keep its weight (before: more than 3 distinct surnames made it
    # "shared" and worth 0)
    person = {"first": "jack", "street": "12 mill lane", "postcode": "ZZ1 1ZZ",
              "dob": "1970-01-02", "ssn": "99999999"}  # fmt: skip
    typos = ["steinert", "bteinert", "pteinert", "kteinert", "mteinert"]
    rows = [
        *_people(150),
        *({**person, "id": f"jack{i}", "last": last} for i, last in enumerate(typos)),
    ]
    clusters, links = resolve_dataframe(pd.DataFrame(rows), MAPPING, memory_limit=MEMORY_LIMIT)
    cluster = _cluster_of(clusters)
    assert len({cluster[f"jack{i}"] for i in range(5)}) == 1
    pair = links[(links["left_id"] == "jack0") & (links["right_id"] == "jack1")].iloc[0]
    assert json.loads(pair["evidence"])["person_id_ssn"]["weight"] > 0


def test_an_id_held_by_several_different_people_is_shared_and_worth_nothing():
    rows = _people(150)
    for i in range(0, 15, 3):  # five different people typed the same placeholder id
        rows[i]["ssn"] = "00000000"
    con = duckdb.connect()
    con.register("people", pd.DataFrame(rows))
    links = find_links(con, "people", MAPPING)
    same_id = links[
        links["evidence"].map(lambda e: json.loads(e)["person_id_ssn"]["level"] == "exact")
    ]
    placeholder = same_id[same_id["left_id"].isin([rows[i]["id"] for i in range(0, 15, 3)])]
    assert (
        placeholder["evidence"].map(lambda e: json.loads(e)["person_id_ssn"]["weight"]) == 0
    ).all()


def test_swapped_names_with_a_nickname_are_still_a_swap():
    rows = [
        *_people(150),
        {"id": "sj1", "first": "steinert", "last": "jack", "street": "4 church road",
         "postcode": "XY9 9XY", "dob": "1981-05-06", "ssn": None},
        {"id": "sj2", "first": "jack", "last": "steinert", "street": "4 church road",
         "postcode": "XY9 9XY", "dob": "1981-05-06", "ssn": None},
    ]  # fmt: skip
    clusters, links = resolve_dataframe(pd.DataFrame(rows), MAPPING, memory_limit=MEMORY_LIMIT)
    pair = links[(links["left_id"] == "sj1") & (links["right_id"] == "sj2")].iloc[0]
    evidence = json.loads(pair["evidence"])
    assert evidence["given_name"]["level"] == "swapped"
    assert evidence["given_name"]["weight"] > 0
    assert _cluster_of(clusters)["sj1"] == _cluster_of(clusters)["sj2"]


def _fields() -> list:
    names_only = ColumnMapping(
        record_id="id", given_name="g", family_name="f", street="s", postcode="p"
    )
    return training_comparisons(build_comparisons(names_only))


def _patterns(given_differ: int, family_differ: int, agree: int) -> tuple[np.ndarray, np.ndarray]:
    """Level patterns of candidate pairs at one address (street and postcode exact):
    `given_differ` with one surname and different given names, `family_differ` the other
    way round, `agree` with both names exact."""
    fields = _fields()
    col = {c.column: j for j, c in enumerate(fields)}
    else_given = fields[col["given"]].else_level
    else_family = fields[col["family"]].else_level

    def row(given: int, family: int) -> list[int]:
        levels = [0] * len(fields)
        levels[col["given"]], levels[col["family"]] = given, family
        return levels

    patterns = np.array([row(else_given, 0), row(0, else_family), row(0, 0)])
    return patterns, np.array([given_differ, family_differ, agree])


def test_the_household_guard_is_off_where_different_given_names_are_only_typos():
    # FEBRL-like: given names and surnames differ at one address about equally often
    patterns, counts = _patterns(given_differ=16, family_differ=10, agree=100)
    guard = household_guard(patterns, counts, _fields(), MatchConfig())
    assert not guard.on
    assert "no households" in guard.reason


def test_the_household_guard_is_on_where_the_data_shows_households():
    # generator-like: one surname at one address with several given names
    patterns, counts = _patterns(given_differ=35, family_differ=1, agree=65)
    evidence = household_evidence(patterns, counts, _fields())
    assert evidence["given_names_differ"] == pytest.approx(0.35)
    assert household_guard(patterns, counts, _fields(), MatchConfig()).on


def test_the_household_guard_stays_on_when_the_data_cannot_tell_and_can_be_forced():
    patterns, counts = _patterns(given_differ=2, family_differ=2, agree=5)
    assert household_guard(patterns, counts, _fields(), MatchConfig()).on
    forced = household_guard(patterns, counts, _fields(), MatchConfig(household_guard="off"))
    assert not forced.on and forced.reason == "forced off"

"""Comparison levels: which level a pair of normalised values lands in."""

import duckdb
import numpy as np
import pytest

from python_models.identity.blocking import build_blocking_rules
from python_models.identity.comparisons import (
    NULL_LEVEL,
    Comparison,
    address_key_parts,
    address_level_label,
    build_address_comparison,
    build_comparisons,
    joint_levels,
    street_numbers_sql,
)
from python_models.identity.mapping import ColumnMapping
from python_models.identity.normalise import (
    canonical_given_name,
    phonetic_key,
    swapped_birth_date,
)

MAPPING = ColumnMapping(
    record_id="id", given_name="g", family_name="f", email="e", phone="p", street="s",
    city="c", postcode="pc", birth_date="b", person_ids=["ssn"],
)  # fmt: skip
COMPARISONS = {c.name: c for c in build_comparisons(MAPPING)}
CON = duckdb.connect()  # in-memory, private to this module


def level_of(name: str, left: dict, right: dict, comparison: Comparison | None = None) -> str:
    """Level label of comparison `name` (or of `comparison`) for two records given as
    normalised columns."""
    comparison = comparison or COMPARISONS[name]
    # the family field canonicalised as a given name, as `prepare` derives it
    left, right = (
        {**side, "family_canonical": canonical_given_name(side["family"])}
        if "family" in side and "family_canonical" not in side
        else side
        for side in (left, right)
    )
    columns = sorted(set(left) | set(right))

    def row(values: dict) -> str:
        return ", ".join(
            f"{'null' if values.get(c) is None else repr(values[c])}::varchar as {c}"
            for c in columns
        )

    tokens = "list_distinct(string_split(street, ' '))" if "street" in columns else "null"
    numbers = street_numbers_sql("street") if "street" in columns else "null"
    district = "left(postcode, length(postcode) - 3)" if "postcode" in columns else "null"
    derived = (
        f"{tokens} as street_tokens, {numbers} as street_numbers, {district} as postcode_district"
    )
    sql = (
        f"with l as (select *, {derived} from (select {row(left)})), "
        f"r as (select *, {derived} from (select {row(right)})) "
        f"select {comparison.level_sql()} from l, r"
    )
    level = CON.execute(sql).fetchone()[0]
    return "null" if level == NULL_LEVEL else comparison.labels[level]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("william", "william", "exact"),
        ("jon", None, "null"),
        ("jonathon", "jonathan", "very_close"),
        ("j", "john", "initial_vs_full"),
        ("mary", "peter", "else"),
    ],
)
def test_given_name_levels(left, right, expected):
    assert level_of("given_name", {"given": left, "family": "x"}, {"given": right,
                    "family": "y"}) == expected  # fmt: skip


def test_names_swapped_between_first_and_last_are_recognised():
    left = {"given": "smith", "family": "anna", "family_phonetic": "AN"}
    right = {"given": "anna", "family": "smith", "family_phonetic": "SM0"}
    assert level_of("given_name", left, right) == "swapped"
    assert level_of("family_name", left, right) == "swapped"


def test_family_name_phonetic_level():
    left = {"given": "a", "family": "catherwood", "family_phonetic": "K0RWT"}
    right = {"given": "a", "family": "kathorwud", "family_phonetic": "K0RWT"}
    assert level_of("family_name", left, right) == "phonetic"


@pytest.mark.parametrize(
    ("right", "expected"),
    [
        ({"birth_date": "1984-03-07"}, "exact"),
        ({"birth_date": "1984-07-03"}, "day_month_swapped"),
        ({"birth_date": "1984-03-08"}, "one_edit"),
        ({"birth_date": "1984-11-30"}, "same_year"),
        ({"birth_date": "1991-11-30"}, "else"),
        ({"birth_date": None}, "null"),
    ],
)
def test_birth_date_levels(right, expected):
    left = {"birth_date": "1984-03-07", "birth_date_swapped": "1984-07-03"}
    right = {**right, "birth_date_swapped": swapped_birth_date(right["birth_date"])}
    assert level_of("birth_date", left, right) == expected


def _email(address: str) -> dict:
    return {"email": address, "email_local": address.split("@")[0]}


def _phone(number: str) -> dict:
    return {"phone": number, "phone_suffix": number[-7:]}


def test_email_and_phone_levels():
    ann = _email("ann.lee@x.com")
    assert level_of("email", ann, _email("ann.le@x.com")) == "one_edit"
    assert level_of("email", ann, _email("ann.lee@other.org")) == "same_local_part"
    assert level_of("phone", _phone("+441632960001"), _phone("01632960001")) == "same_last_7"


def _address(street: str | None, postcode: str | None, city: str | None = None) -> dict:
    return {"street": street, "postcode": postcode, "city": city}


def test_street_levels_tolerate_extra_tokens():
    left = _address("flat 2 12 high street", "SW1A1AA")
    assert level_of("address", left, _address("flat 2 12 high street", "SW1A1AA")) == "exact"
    assert level_of("address", left, _address("12 high street", "SW1A1AA")) == "street_typo"
    assert level_of("address", left, _address("99 low road", "SW1A1AA")) == (
        "same_postcode_other_street"
    )


def test_same_street_with_another_house_number_is_another_address():
    # neighbours, or two people of one name across town: not a close street
    neighbour = level_of(
        "address", _address("178 dorpsstraat", "5625RK"), _address("197 dorpsstraat", "5625RK")
    )
    assert neighbour == "same_postcode_other_street"
    no_number = level_of(
        "address", _address("12 high street", "N11AA"), _address("high street", "N11AA")
    )
    assert no_number == "street_typo"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        # one postcode, two streets: two households, however alike the names
        (("hauptstrasse 106", "60033", "frankfurt"), ("am markt 69", "60033", "frankfurt"),
         "same_postcode_other_street"),
        # one street name in two postcodes (every town has a Maple Street)
        (("120 maple street", "94144", "san francisco"), ("120 maple street", "94162", None),
         "same_street_elsewhere"),
        (("120 maple street", "94144", None), ("120 mapel street", "94144", None),
         "street_typo"),
        (("120 maple street", "94144", None), ("120 maple street", "94414", None),
         "postcode_typo"),
        # a side without a street: the postcode is all there is
        (("120 maple street", "94144", "sf"), (None, "94144", None), "postcode_no_street"),
        (("12 high street", None, "leeds"), ("12 high street", None, "leeds"),
         "street_no_postcode"),
        (("12 high street", None, "leeds"), ("12 high st", None, "leeds"), "street_no_postcode"),
        ((None, None, "leeds"), ("9 low road", "LS11AA", "leeds"), "same_city"),
        ((None, "94144", "sf"), ("1 elm street", None, "oakland"), "else"),
        # nothing comparable on both sides
        (("12 high street", None, None), (None, "LS11AA", "leeds"), "null"),
    ],
)  # fmt: skip
def test_address_levels_encode_the_joint_outcome(left, right, expected):
    assert level_of("address", _address(*left), _address(*right)) == expected


def test_address_level_table_orders_the_joint_outcomes():
    # sub-levels: street 0 exact / 1 very close / 2 close / 3 else, postcode 0 exact /
    # 1 one edit / 2 same district / 3 else, city 0 exact / 1 close / 2 else; -1 missing
    assert address_level_label(0, 0, 2) == "exact"  # a city typo does not matter then
    assert address_level_label(3, 0, 0) == "same_postcode_other_street"
    assert address_level_label(3, 1, 0) == "postcode_typo_same_city"
    assert address_level_label(-1, -1, -1) is None


@pytest.mark.parametrize(
    ("mapping", "key", "labels"),
    [
        (ColumnMapping(postcode="pc"), ("postcode",), ["exact", "postcode_one_edit", "else"]),
        (ColumnMapping(city="c"), ("city",), ["exact", "city_close", "else"]),
        (ColumnMapping(postcode="pc", city="c"), ("postcode",),
         ["exact", "postcode_typo_same_city", "postcode_one_edit", "same_city", "city_close",
          "else"]),
        (ColumnMapping(street="s", city="c"), ("street", "city"),
         ["exact", "street_no_postcode", "street_close_same_city", "same_street_elsewhere",
          "same_city", "city_close", "else"]),
    ],
)  # fmt: skip
def test_address_comparison_fits_a_mapping_with_only_some_address_columns(mapping, key, labels):
    comparison = build_address_comparison(mapping)
    assert address_key_parts(mapping) == key
    assert comparison.labels == labels
    left, right = _address(None, None), _address(None, None)
    for part in key:
        left[part] = right[part] = "x1 2ab"
    assert level_of("", left, right, comparison) == "exact"


def test_no_address_columns_no_address_comparison():
    assert build_address_comparison(ColumnMapping(email="e")) is None
    assert "address" not in {c.name for c in build_comparisons(ColumnMapping(email="e"))}


def test_person_id_one_edit_and_else():
    assert level_of("person_id_ssn", {"person_id_0": "1234567"}, {"person_id_0": "1234576"}) == (
        "one_edit"
    )
    assert level_of("person_id_ssn", {"person_id_0": "1234567"}, {"person_id_0": "7654321"}) == (
        "else"
    )


def test_blocking_rules_follow_the_mapping():
    rules = build_blocking_rules(ColumnMapping(record_id="id", email="e"))
    assert set(rules) == {"email", "email_local_part"}
    assert build_blocking_rules(ColumnMapping(record_id="id", city="c")) == {}


def _names(given: str, family: str) -> dict:
    return {"given": given, "family": family, "family_phonetic": phonetic_key(family)}


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        # one crossed name exact, the other with a transposition
        (("whtie", "brandon"), ("brandon", "white"), "swapped_with_typo"),
        # a typo in each crossed name, both still very close
        (("desllva", "jasper"), ("jaspe", "desilva"), "swapped_with_typo"),
        # the exact swap keeps its own, stronger level
        (("brandon", "white"), ("white", "brandon"), "swapped"),
        # a typo in each crossed name, neither very close: two different people
        (("smith", "anne"), ("anna", "smyth"), "else"),
        # one name in the other field is a coincidence, not a swap
        (("thomas", "james"), ("james", "williams"), "else"),
    ],
)
def test_names_swapped_with_a_typo(left, right, expected):
    for comparison in ("given_name", "family_name"):
        assert level_of(comparison, _names(*left), _names(*right)) == expected, comparison


def test_swap_needs_both_names_on_both_sides():
    left = {"given": "white", "family": None, "family_phonetic": None}
    right = _names("brandon", "white")
    assert level_of("given_name", left, right) == "else"
    assert level_of("family_name", left, right) == "null"


def test_blocking_keys_cover_swapped_names_and_spacing():
    rules = build_blocking_rules(MAPPING)
    assert rules["birth_date_name_phonetic"] == ["birth_date", "name_phonetics"]
    assert rules["postcode_name_phonetic"] == ["postcode", "name_phonetics"]
    assert rules["street_postcode_district"] == ["street_key", "postcode_district"]
    # a given name alone (no family name mapped) still blocks with birth date and postcode
    given_only = build_blocking_rules(
        ColumnMapping(record_id="id", given_name="g", postcode="pc", birth_date="b")
    )
    assert {"birth_date_name_phonetic", "postcode_name_phonetic"} <= set(given_only)


def test_joint_level_is_the_same_from_sql_and_from_trained_part_levels():
    # scoring reads the joint level from SQL, training maps EM's part levels in numpy
    address = COMPARISONS["address"]
    triples = [(s, p, c) for s in range(-1, 4) for p in range(-1, 4) for c in range(-1, 3)]
    rows = ", ".join(f"({s}, {p}, {c})" for s, p, c in triples)
    from_sql = CON.execute(
        f"select {address.level_from_parts_sql()} "
        f"from (values {rows}) as t(g_street, g_postcode, g_city)"
    ).fetchall()
    street, postcode, city = (np.array(x) for x in zip(*triples, strict=True))
    from_numpy = joint_levels(address, {"street": street, "postcode": postcode, "city": city})
    assert [row[0] for row in from_sql] == from_numpy.tolist()
    labels = ["null", *address.labels]
    assert labels[from_numpy[triples.index((3, 0, 0))] + 1] == "same_postcode_other_street"

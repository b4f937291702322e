"""Comparison levels: which level a pair of normalised values lands in."""

import duckdb
import pytest

from python_models.identity.matching.comparisons import (
    NULL_LEVEL,
    build_blocking_rules,
    build_comparisons,
    street_numbers_sql,
)
from python_models.identity.matching.config import ColumnMapping
from python_models.identity.matching.normalise import phonetic_key, swapped_birth_date

MAPPING = ColumnMapping(
    record_id="id", given_name="g", family_name="f", email="e", phone="p", street="s",
    city="c", postcode="pc", birth_date="b", other_ids=["ssn"],
)  # fmt: skip
COMPARISONS = {c.name: c for c in build_comparisons(MAPPING)}
CON = duckdb.connect()  # in-memory, private to this module


def level_of(name: str, left: dict, right: dict) -> str:
    """Level label of comparison `name` for two records given as normalised columns."""
    comparison = COMPARISONS[name]
    columns = sorted(set(left) | set(right))

    def row(values: dict) -> str:
        return ", ".join(
            f"{'null' if values.get(c) is None else repr(values[c])}::varchar as {c}"
            for c in columns
        )

    tokens = "list_distinct(string_split(street, ' '))" if "street" in columns else "null"
    numbers = street_numbers_sql("street") if "street" in columns else "null"
    derived = f"{tokens} as street_tokens, {numbers} as street_numbers"
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


def test_street_levels_tolerate_extra_tokens():
    left = {"street": "flat 2 12 high street"}
    assert level_of("street", left, {"street": "flat 2 12 high street"}) == "exact"
    assert level_of("street", left, {"street": "12 high street"}) == "very_close"
    assert level_of("street", left, {"street": "99 low road"}) == "else"


def test_same_street_with_another_house_number_is_another_address():
    # neighbours, or two people of one name across town: not a close street
    assert level_of("street", {"street": "178 dorpsstraat"}, {"street": "197 dorpsstraat"}) == (
        "else"
    )
    assert level_of("street", {"street": "12 high street"}, {"street": "high street"}) == (
        "very_close"
    )


def test_other_id_one_edit_and_else():
    assert level_of("other_id_ssn", {"other_id_0": "1234567"}, {"other_id_0": "1234576"}) == (
        "one_edit"
    )
    assert level_of("other_id_ssn", {"other_id_0": "1234567"}, {"other_id_0": "7654321"}) == (
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

"""Normalisers: the canonical forms that decide which records can ever agree."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from python_models.identity import normalise as norm


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_values_normalise_to_none(blank):
    for fn in (
        norm.normalise_name,
        norm.canonical_given_name,
        norm.phonetic_key,
        norm.normalise_email,
        norm.normalise_phone,
        norm.normalise_postcode,
        norm.normalise_birth_date,
        norm.normalise_street,
        norm.normalise_text,
    ):
        assert fn(blank) is None, fn.__name__


def test_names_lose_case_accents_and_punctuation():
    assert norm.normalise_name("  Zoë NÚÑEZ ") == "zoe nunez"
    assert norm.normalise_name("O'Brien-Smith") == "obrien smith"
    assert norm.normalise_name("Straße") == "strasse"
    assert norm.normalise_name("123 !!") is None


def test_nicknames_map_to_formal_given_name():
    assert norm.canonical_given_name("Bill") == "william"
    assert norm.canonical_given_name("Bob Alan") == "robert alan"
    assert norm.canonical_given_name("Chris") == "chris"  # ambiguous: left alone


def test_phonetic_key_groups_spelling_variants():
    assert norm.phonetic_key("Smith") == norm.phonetic_key("Smyth")
    assert norm.phonetic_key("Smith") != norm.phonetic_key("Jones")


def test_email_rules_are_configurable():
    assert norm.normalise_email(" John.Smith+shop@GoogleMail.com ") == "johnsmith@gmail.com"
    assert (
        norm.normalise_email(
            "john.smith+shop@gmail.com", strip_plus_tags=False, gmail_dot_rule=False
        )
        == "john.smith+shop@gmail.com"
    )
    # dots matter outside gmail
    assert norm.normalise_email("j.smith@example.com") == "j.smith@example.com"
    assert norm.normalise_email("not-an-email") is None
    assert norm.normalise_email("a@b@c.com") is None
    # what the deterministic links and the matcher both get: one definition
    assert norm.normalise_email("spaces in@example.com") is None
    assert norm.normalise_email("trailing@") is None
    assert norm.normalise_email("+shop@example.com") is None


def test_one_generic_mailbox_list_for_every_path():
    assert norm.is_generic_email("info@shop.co.uk")
    assert norm.is_generic_email("anna@example.com")
    assert norm.is_generic_email("family@gmail.com")
    assert not norm.is_generic_email("anna@gmail.com")
    assert not norm.is_generic_email(None)


def test_phone_formats_agree_in_e164():
    variants = ["+44 (0)1632 960001", "0044 1632 960001", "+441632960001"]
    assert {norm.normalise_phone(v) for v in variants} == {"+441632960001"}
    assert norm.normalise_phone("01632 960001", country="GB") == "+441632960001"
    assert norm.normalise_phone("01632 960001") == "01632960001"  # country unknown
    assert norm.normalise_phone("+0441632960001") is None  # not E.164
    assert norm.normalise_phone("01632 960001", default_country_code="44") == "+441632960001"
    assert norm.normalise_phone("12-34") is None
    assert norm.phone_suffix("+441632960001") == "2960001"


def test_postcode_upper_without_spaces():
    assert norm.normalise_postcode(" sw1a 1aa ") == "SW1A1AA"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("1984-03-07", "1984-03-07"),
        ("19840307", "1984-03-07"),
        ("07/03/1984", "1984-03-07"),
        ("1984-03-07T00:00:00Z", "1984-03-07"),
        ("1984-13-05", "1984-05-13"),  # month > 12: transposed day and month
        ("1984-02-30", None),
        ("March 1984", None),
    ],
)
def test_birth_dates_become_iso(raw, iso):
    assert norm.normalise_birth_date(raw) == iso


def test_month_first_dates_when_configured():
    assert norm.normalise_birth_date("03/07/1984", day_first=False) == "1984-03-07"


def test_swapped_birth_date_variant():
    assert norm.swapped_birth_date("1984-03-07") == "1984-07-03"
    assert norm.swapped_birth_date("1984-03-25") is None  # day 25 cannot be a month
    assert norm.swapped_birth_date("1984-03-03") is None  # same date


def test_street_abbreviations_expand():
    assert norm.normalise_street("12 High St.") == "12 high street"
    assert norm.normalise_street("12, High Street") == "12 high street"
    assert norm.normalise_street("5 Mühlen Rd") == "5 muhlen road"


# Raw emails and phones as people type them: cases, dots, plus tags, Gmail's two domains,
# spaces, brackets, national and international prefixes.
_EMAILS = st.builds(
    lambda local, tag, domain, pad: f"{pad}{local}{tag}@{domain}{pad}",
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True),
    st.sampled_from(["", "+news", "+a.b", "+"]),
    st.sampled_from(["gmail.com", "GoogleMail.com", "post.test", "Example.co.uk", "x"]),
    st.sampled_from(["", " ", "\t"]),
)
_PHONES = st.builds(
    lambda prefix, digits, sep: (
        prefix + sep.join(digits[i : i + 3] for i in range(0, len(digits), 3))
    ),
    st.sampled_from(["", "0", "00", "+", "+44 (0)", "0044 ", "+1 "]),
    st.from_regex(r"[0-9]{4,14}", fullmatch=True),
    st.sampled_from(["", " ", "-", ") "]),
)


@settings(max_examples=300, deadline=None)
@given(
    _EMAILS,
    _PHONES,
    st.sampled_from([None, "GB", "gb ", "US", "SE", "XX"]),
    st.sampled_from([None, "44", "1"]),
)
def test_emails_and_phones_are_their_own_normal_form(email, phone, country, default):
    """The pipeline hands the matcher emails and phones it normalised, and the matcher takes
    them as their own normal form (`pipeline._matcher_lookups`): normalising twice must
    change nothing."""
    once = norm.normalise_email(email)
    assert norm.normalise_email(once) == once
    assert norm.is_generic_email(norm.normalise_email(once)) == norm.is_generic_email(once)
    once = norm.normalise_phone(phone, country, default)
    assert norm.normalise_phone(once, country, default) == once


def test_held_lookups_are_used_and_values_they_lack_are_normalised_here():
    import duckdb

    from python_models.identity import ColumnMapping, MatchConfig
    from python_models.identity.prepare import normalise_records_into

    con = duckdb.connect()
    con.execute("create table people as select * from (values ('1', 'a@x.com'), ('2', ' B@Y.com'))")
    con.execute("alter table people rename column col0 to id")
    con.execute("alter table people rename column col1 to email")
    # a marker output shows the held row was taken as it is
    held = {"email": "select 'a@x.com' as k0, 'held@x.com' as email, false as email_generic"}
    normalise_records_into(
        con, "people", ColumnMapping(record_id="id", email="email"), MatchConfig(), "out",
        held_lookups=held,
    )  # fmt: skip
    rows = con.execute("select record_id, email from out order by record_id").fetchall()
    assert rows == [("1", "held@x.com"), ("2", "b@y.com")]

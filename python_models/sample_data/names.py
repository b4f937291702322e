"""Weighted pools of given names, family names and streets per country.

Real customer bases hold thousands of distinct names with a long tail: the commonest US
surname, Smith, is about 1 % of people, and a full name is usually shared by a handful of
people in a city, not by hundreds. The curated lists in `reference.py` (the names with
nicknames, the diacritics and particles the matcher must handle) come first; Faker's
locale lists (US census frequencies where Faker has them) supply the tail. Weights fall
with rank as 1 / (rank + 10), which puts the commonest name at about 2 % of people.

Streets belong to places: each postcode has its own few streets (one or two for a British
or Dutch postcode, dozens for a US ZIP code), so a street line and a postcode agree the way
they do on real envelopes.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Sequence
from functools import cache

import numpy as np

from python_models.sample_data import reference as ref

FAKER_LOCALE = {
    "GB": "en_GB",
    "IE": "en_IE",
    "DE": "de_DE",
    "FR": "fr_FR",
    "US": "en_US",
    "NL": "nl_NL",
}
RANK_OFFSET = 10
# How many streets one postcode covers: British and Dutch postcodes name a street segment,
# an Eircode one address; German, French and US codes cover a district.
STREETS_PER_POSTCODE = {"GB": 2, "IE": 1, "NL": 1, "DE": 30, "FR": 30, "US": 40}
STREET_STEMS = 150
# Street forms built from a stem (a family name): "{n}" is the house number.
_STREET_FORMS = {
    "GB": ("{n} {s} Street", "{n} {s} Road", "{n} {s} Lane", "{n} {s} Avenue", "{n} {s} Close"),
    "IE": ("{n} {s} Street", "{n} {s} Road", "{n} {s} Avenue", "{n} {s} Park", "{n} {s} Terrace"),
    "DE": ("{s}straße {n}", "{s}weg {n}", "{s}allee {n}", "{s}ring {n}"),
    "FR": ("{n} rue {s}", "{n} avenue {s}", "{n} boulevard {s}", "{n} allée {s}", "{n} place {s}"),
    "US": (
        "{n} {s} Street",
        "{n} {s} Avenue",
        "{n} {s} Boulevard",
        "{n} {s} Drive",
        "{n} {s} Road",
    ),
    "NL": ("{s}straat {n}", "{s}weg {n}", "{s}laan {n}", "{s}gracht {n}", "{s}plein {n}"),
}


def _clean(names: object) -> list[str]:
    # Faker lists hold a few editorial forms ("Hans D.", "Bourgondië, van"): leave them out.
    return [str(n) for n in names if not any(ch in str(n) for ch in ".,") and str(n)[:1].isupper()]


def _faker_names(country: str, attribute: str) -> list[str]:
    """Faker's names for the country's locale, commonest first where Faker knows frequencies,
    else in a fixed shuffled order (its lists are alphabetical)."""
    provider = importlib.import_module(f"faker.providers.person.{FAKER_LOCALE[country]}").Provider
    names = getattr(provider, attribute)
    if isinstance(names, dict):
        ranked = sorted(names, key=lambda k: -float(names[k]))
        return _clean(ranked)
    cleaned = _clean(names)
    order = np.random.default_rng(zlib.crc32(f"{country}{attribute}".encode())).permutation(
        len(cleaned)
    )
    return [cleaned[i] for i in order.tolist()]


def _ranked_pool(curated: tuple[str, ...], tail: list[str]) -> tuple[np.ndarray, np.ndarray]:
    names = list(dict.fromkeys([*curated, *tail]))
    weights = 1.0 / (np.arange(len(names)) + RANK_OFFSET)
    return np.array(names, dtype=object), weights / weights.sum()


@cache
def given_names(country: str) -> tuple[np.ndarray, np.ndarray]:
    """(names, probabilities) of given names in `country`."""
    return _ranked_pool(ref.GIVEN_NAMES[country], _faker_names(country, "first_names"))


@cache
def family_names(country: str) -> tuple[np.ndarray, np.ndarray]:
    """(names, probabilities) of family names in `country`."""
    return _ranked_pool(ref.FAMILY_NAMES[country], _faker_names(country, "last_names"))


def plain_names(kind: str, countries: Sequence[str], count: int | None = None) -> list[str]:
    """The commonest `count` given (`kind="given"`) or family names of `countries`, in rank
    order, country after country, plain ASCII letters only: the lists for generators that
    put names into email local parts or SQL literals."""
    pool = {"given": given_names, "family": family_names}[kind]
    ranked = (str(name) for country in countries for name in pool(country)[0].tolist())
    return list(dict.fromkeys(n for n in ranked if n.isascii() and n.isalpha()))[:count]


def draw(pool: tuple[np.ndarray, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    names, p = pool
    return names[rng.choice(len(names), size=n, p=p)]


@cache
def streets(country: str) -> tuple[str, ...]:
    """Street templates of `country`: the curated ones, then forms built on family names."""
    stems = [s for s in family_names(country)[0][:STREET_STEMS].tolist() if " " not in s]
    forms = _STREET_FORMS[country]
    built = [forms[i % len(forms)].replace("{s}", stem) for i, stem in enumerate(stems)]
    return tuple(dict.fromkeys([*ref.STREETS[country], *built]))


def streets_of_postcodes(country: str, postcodes: list[str], rng: np.random.Generator) -> list[str]:
    """One street template per address, drawn from the few streets of its postcode."""
    pool = streets(country)
    width = STREETS_PER_POSTCODE[country]
    pick = rng.integers(0, width, len(postcodes)).tolist()
    return [
        pool[(zlib.crc32(code.encode()) + 7919 * k) % len(pool)]
        for code, k in zip(postcodes, pick, strict=True)
    ]

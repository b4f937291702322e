"""The latent people behind the sources: who they are, where they live, how they behave.

`make_people` builds one chunk of people as a DataFrame of clean, canonical attributes
(the truth). Source builders in `sources.py` then render messy records from it. Households
(shared address, often family name and landline, sometimes a device) are formed inside a
chunk, so chunks are independent and the run streams.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from python_models.sample_data import names
from python_models.sample_data import reference as ref
from python_models.sample_data.behaviour import draw_lives
from python_models.sample_data.config import SECONDS_PER_DAY, GeneratorConfig
from python_models.sample_data.messiness import ascii_fold

# Per-profile behaviour: yearly rates and propensities (index = position in ref.PROFILES).
ORDER_RATE = np.array([5.0, 3.0, 1.0, 0.08])
SESSION_RATE = np.array([10.0, 8.0, 5.0, 7.0])
POS_RATE = np.array([6.0, 3.0, 1.5, 0.3])
TICKET_RATE = np.array([0.35, 0.3, 0.15, 0.05])
EMAIL_OPEN_RATE = np.array([8.0, 6.0, 4.0, 3.0])
DISCOUNT_PROPENSITY = np.array([0.10, 0.65, 0.25, 0.20])
ABANDON_PROPENSITY = np.array([0.12, 0.30, 0.20, 0.40])
HAS_CRM = np.array([0.90, 0.70, 0.60, 0.25])
HAS_LOYALTY = np.array([0.80, 0.45, 0.25, 0.05])
HAS_ACCOUNT = np.array([0.90, 0.70, 0.45, 0.35])
HAS_WEB = np.array([0.95, 0.90, 0.70, 1.0])

HOUSEHOLD_SIZES = np.array([1, 2, 3, 4])
HOUSEHOLD_SIZE_WEIGHTS = np.array([0.55, 0.30, 0.10, 0.05])

_US_AREA_CODES = (212, 646, 718, 415, 628, 312, 773, 617, 857, 512, 737, 206, 425)
_GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_EIRCODE_CHARS = "0123456789ACDEFHKNPRTVWXY"


def chunk_ids(prefix: str, chunk_index: int, local: np.ndarray) -> np.ndarray:
    """Globally unique, fixed-width ids: `<prefix><chunk:04d><local:07d>`."""
    return np.array([f"{prefix}{chunk_index:04d}{i:07d}" for i in local.tolist()], dtype=object)


def _pick(options: str, codes: np.ndarray) -> list[str]:
    return [options[k] for k in codes.tolist()]


def _postcodes(country: str, prefixes: list[str], rng: np.random.Generator) -> list[str]:
    """Postcodes in the country's shape, completing the city's prefix."""
    m = len(prefixes)
    if country == "GB":
        digit = rng.integers(1, 10, m).tolist()
        a = _pick(_GB_INWARD_LETTERS, rng.integers(0, len(_GB_INWARD_LETTERS), m))
        b = _pick(_GB_INWARD_LETTERS, rng.integers(0, len(_GB_INWARD_LETTERS), m))
        return [f"{p} {d}{x}{y}" for p, d, x, y in zip(prefixes, digit, a, b, strict=True)]
    if country == "IE":
        tails = rng.integers(0, len(_EIRCODE_CHARS), (m, 4))
        return [
            f"{p} " + "".join(_EIRCODE_CHARS[k] for k in row)
            for p, row in zip(prefixes, tails.tolist(), strict=True)
        ]
    if country == "NL":
        letters = "ABCEGHJKLNPRSTVXZ"
        digits = rng.integers(10, 100, m).tolist()
        a = _pick(letters, rng.integers(0, len(letters), m))
        b = _pick(letters, rng.integers(0, len(letters), m))
        return [f"{p}{d} {x}{y}" for p, d, x, y in zip(prefixes, digits, a, b, strict=True)]
    tails = rng.integers(0, 100, m).tolist()
    return [f"{p}{t:0{5 - len(p)}d}"[:5] for p, t in zip(prefixes, tails, strict=True)]


def _addresses(country: str, m: int, rng: np.random.Generator) -> tuple[list, list, list]:
    """`m` addresses in one country: (street line, city, postcode)."""
    cities = ref.CITIES[country]
    city_idx = rng.integers(0, len(cities), m)
    prefix_pick = rng.integers(0, 1_000, m)
    prefixes = [
        cities[c][1][k % len(cities[c][1])]
        for c, k in zip(city_idx.tolist(), prefix_pick.tolist(), strict=True)
    ]
    postcodes = _postcodes(country, prefixes, rng)
    templates = names.streets_of_postcodes(country, postcodes, rng)
    numbers = rng.integers(1, 240, m).tolist()
    street_lines = [t.format(n=h) for t, h in zip(templates, numbers, strict=True)]
    return street_lines, [cities[c][0] for c in city_idx.tolist()], postcodes


def _mobiles(country: str, m: int, rng: np.random.Generator) -> list[str]:
    """National significant numbers of mobile phones (no trunk 0, no country code)."""
    tail = rng.integers(0, 10**8, m).tolist()
    lead = rng.integers(0, 10, m).tolist()
    if country == "GB":
        return [f"7{a}{t:08d}" for a, t in zip(lead, tail, strict=True)]
    if country == "IE":
        return [f"8{'35679'[a % 5]}{t % 10**7:07d}" for a, t in zip(lead, tail, strict=True)]
    if country == "DE":
        return [f"1{'567'[a % 3]}{a}{t:08d}" for a, t in zip(lead, tail, strict=True)]
    if country == "FR":
        return [f"{'67'[a % 2]}{t:08d}" for a, t in zip(lead, tail, strict=True)]
    if country == "NL":
        return [f"6{t:08d}" for t in tail]
    area = np.array(_US_AREA_CODES)[rng.integers(0, len(_US_AREA_CODES), m)].tolist()
    return [f"{c}{2 + a % 8}{t % 10**6:06d}" for c, a, t in zip(area, lead, tail, strict=True)]


def _landlines(country: str, m: int, rng: np.random.Generator) -> list[str]:
    tail = rng.integers(0, 10**8, m).tolist()
    if country == "US":
        return [f"212{2 + t % 8}{t % 10**6:06d}" for t in tail]
    area = {"GB": "20", "IE": "1", "DE": "30", "FR": "1", "NL": "20"}[country]
    return [f"{area}{t:08d}" for t in tail]


@lru_cache(maxsize=4096)
def _email_part(name: str) -> str:
    return ascii_fold(name).lower().replace(" ", "").replace("'", "").replace("-", "")


def _email(given: str, family: str, domain: str, number: int, pattern: int) -> str:
    g = _email_part(given)
    f = _email_part(family)
    if pattern == 0:
        local = f"{g}.{f}{number}"
    elif pattern == 1:
        local = f"{g}{f}{number}"
    elif pattern == 2:
        local = f"{g[0]}.{f}{number}"
    elif pattern == 3:
        local = f"{g}_{f[:4]}{number}"
    elif pattern == 4:
        local = f"{f}.{g}{number}"
    else:
        local = f"{g}.{f}.{number}"
    return f"{local}@{domain}"


def mailbox_numbers(person_number: np.ndarray, customers: int, salt: int) -> np.ndarray:
    """Digits that make each person's address theirs alone, as a real mailbox is.

    An affine map modulo a power of ten above the population (7919 is prime, so coprime to
    it) is a bijection of person numbers: two people never draw the same address by
    accident, however common their name, and household neighbours get unrelated digits.
    Shared addresses are planted on purpose instead (generic info@/test@ ones).
    """
    space = 10 ** (len(str(customers)) + 1)
    return (person_number.astype(np.int64) * 7919 + salt) % space


def behaviour_rng(config: GeneratorConfig, chunk_index: int) -> np.random.Generator:
    """The random stream of how a chunk's people behave (separate from who they are)."""
    return np.random.default_rng(np.random.SeedSequence([config.seed, 4, chunk_index]))


def make_people(
    config: GeneratorConfig, chunk_index: int, start: int, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """People `start+1 .. start+n` (1-based person numbers) with canonical attributes."""
    mess = config.messiness
    as_of = config.as_of_epoch

    # Households: consecutive people, so a household never spans two chunks.
    sizes = rng.choice(HOUSEHOLD_SIZES, size=n, p=HOUSEHOLD_SIZE_WEIGHTS)
    household_of = np.repeat(np.arange(n), sizes)[:n]
    first_member = np.r_[True, household_of[1:] != household_of[:-1]]
    head_index = np.maximum.accumulate(np.where(first_member, np.arange(n), 0))
    person_number = start + 1 + np.arange(n)

    country = np.array(ref.COUNTRIES, dtype=object)[
        rng.choice(len(ref.COUNTRIES), size=n, p=ref.COUNTRY_WEIGHTS)
    ][head_index]
    given = np.empty(n, dtype=object)
    family = np.empty(n, dtype=object)
    for c in ref.COUNTRIES:
        m = country == c
        given[m] = names.draw(names.given_names(c), int(m.sum()), rng)
        family[m] = names.draw(names.family_names(c), int(m.sum()), rng)
    # Most household members share the family name of the first member.
    share_family = rng.random(n) < 0.7
    family = np.where(share_family, family[head_index], family)

    profile_idx = rng.choice(len(ref.PROFILES), size=n, p=ref.PROFILE_WEIGHTS)

    age_days = rng.integers(18 * 365, 85 * 365, n)
    birth = (np.datetime64(config.as_of.date()) - age_days.astype("timedelta64[D]")).astype(str)

    days_before = 30 + ((4 * 365 - 30) * rng.random(n) ** 1.3).astype(np.int64)
    first_seen = as_of - days_before * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, n)
    # engagement and leaving come from a stream of their own (behaviour.py)
    lives = draw_lives(profile_idx, first_seen, config, behaviour_rng(config, chunk_index))
    churned = lives.churned
    end_at = lives.end_at

    moved = rng.random(n) < mess.moved_rate
    moved_at = first_seen + ((end_at - first_seen) * rng.uniform(0.2, 0.9, n)).astype(np.int64)
    moved_at = np.where(moved, moved_at, 0)

    heads = np.flatnonzero(first_member)
    streets, cities, postcodes = (np.empty(n, dtype=object) for _ in range(3))
    old_streets, old_cities, old_postcodes = (np.empty(n, dtype=object) for _ in range(3))
    mobiles = np.empty(n, dtype=object)
    landlines = np.full(n, "", dtype=object)
    has_landline = rng.random(n) < 0.4
    for c in ref.COUNTRIES:
        in_country = country == c
        head_rows = heads[in_country[heads]]
        line, city, code = _addresses(c, len(head_rows), rng)
        streets[head_rows], cities[head_rows], postcodes[head_rows] = line, city, code
        phone_rows = head_rows[has_landline[head_rows]]
        landlines[phone_rows] = _landlines(c, len(phone_rows), rng)
        moved_rows = np.flatnonzero(in_country & moved)
        line, city, code = _addresses(c, len(moved_rows), rng)
        old_streets[moved_rows], old_cities[moved_rows], old_postcodes[moved_rows] = (
            line,
            city,
            code,
        )
        rows = np.flatnonzero(in_country)
        mobiles[rows] = _mobiles(c, len(rows), rng)
    # Household members live with (and share the landline of) the first member.
    for arr in (streets, cities, postcodes, landlines):
        arr[:] = arr[head_index]
    old_streets = np.where(moved, old_streets, streets)
    old_cities = np.where(moved, old_cities, cities)
    old_postcodes = np.where(moved, old_postcodes, postcodes)

    has_second = rng.random(n) < mess.second_email_rate
    patterns = rng.choice(6, size=n, p=[0.25, 0.2, 0.15, 0.1, 0.1, 0.2]).tolist()
    numbers = rng.integers(1, 999, n).tolist()
    own_numbers = mailbox_numbers(person_number, config.customers, salt=17).tolist()
    work_numbers = mailbox_numbers(person_number, config.customers, salt=4201).tolist()
    domain_lists = [ref.EMAIL_DOMAINS[c] for c in country.tolist()]
    given_list, family_list = given.tolist(), family.tolist()
    emails = np.array(
        [
            _email(g, f, d[k % len(d)], own, p)
            for g, f, d, k, own, p in zip(
                given_list, family_list, domain_lists, numbers, own_numbers, patterns, strict=True
            )
        ],
        dtype=object,
    )
    work = ref.WORK_DOMAINS
    second_emails = np.array(
        [
            _email(g, f, work[(k * 7) % len(work)], own, 2) if two else ""
            for g, f, k, own, two in zip(
                given_list, family_list, numbers, work_numbers, has_second.tolist(), strict=True
            )
        ],
        dtype=object,
    )

    has_web = rng.random(n) < HAS_WEB[profile_idx]
    has_account = has_web & (rng.random(n) < HAS_ACCOUNT[profile_idx])
    user_local = rng.permutation(n)
    n_categories = len(ref.CATEGORIES)
    return pd.DataFrame(
        {
            "person_number": person_number,
            "person_id": [f"P{k:08d}" for k in person_number.tolist()],
            "household_id": [f"H{k:08d}" for k in person_number[head_index].tolist()],
            "household_head": head_index,
            "country": country,
            "given_name": given,
            "family_name": family,
            "birth_date": birth,
            "email": emails,
            "second_email": second_emails,
            "mobile": mobiles,
            "landline": landlines,
            "street": streets,
            "city": cities,
            "postcode": postcodes,
            "old_street": old_streets,
            "old_city": old_cities,
            "old_postcode": old_postcodes,
            "moved_at": moved_at,
            "profile_idx": profile_idx,
            "profile": np.array(ref.PROFILES, dtype=object)[profile_idx],
            "first_seen": first_seen,
            "end_at": end_at,
            "churned": churned,
            "churned_at": np.where(churned, lives.leave_at, 0),
            "engagement": lives.engagement,
            "upset_at": lives.upset_at,
            "leave_at": lives.leave_at,
            "fade_start": lives.fade_start,
            "fade_length": lives.fade_length,
            "has_crm": rng.random(n) < HAS_CRM[profile_idx],
            "has_loyalty": rng.random(n) < HAS_LOYALTY[profile_idx],
            "has_web": has_web,
            "has_account": has_account,
            "user_id": np.where(has_account, chunk_ids("U", chunk_index, user_local), ""),
            "pref_category_1": rng.integers(0, n_categories, n),
            "pref_category_2": rng.integers(0, n_categories, n),
        }
    )

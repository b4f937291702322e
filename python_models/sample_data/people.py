"""The latent people behind the sources: who they are, where they live, how they behave.

`make_people` builds one chunk of people as a DataFrame of clean, canonical attributes
(the truth). Source builders in `sources.py` then render messy records from it. Households
(shared address, often family name and landline, sometimes a device) are formed inside a
chunk, so chunks are independent and the run streams.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from python_models.sample_data import reference as ref
from python_models.sample_data.config import SECONDS_PER_DAY, GeneratorConfig
from python_models.sample_data.messiness import ascii_fold

# Per-profile behaviour: yearly rates and propensities (index = position in ref.PROFILES).
ORDER_RATE = np.array([5.0, 3.0, 1.0, 0.08])
SESSION_RATE = np.array([8.0, 7.0, 2.0, 7.0])
POS_RATE = np.array([6.0, 3.0, 1.5, 0.3])
TICKET_RATE = np.array([0.35, 0.3, 0.15, 0.05])
EMAIL_OPEN_RATE = np.array([6.0, 5.0, 1.5, 3.0])
DISCOUNT_PROPENSITY = np.array([0.10, 0.65, 0.25, 0.20])
ABANDON_PROPENSITY = np.array([0.12, 0.30, 0.20, 0.40])
CHURN_PROBABILITY = np.array([0.08, 0.30, 0.35, 0.40])
HAS_CRM = np.array([0.90, 0.70, 0.60, 0.25])
HAS_LOYALTY = np.array([0.80, 0.45, 0.25, 0.05])
HAS_ACCOUNT = np.array([0.90, 0.70, 0.45, 0.35])
HAS_WEB = np.array([0.95, 0.90, 0.70, 1.0])

HOUSEHOLD_SIZES = np.array([1, 2, 3, 4])
HOUSEHOLD_SIZE_WEIGHTS = np.array([0.55, 0.30, 0.10, 0.05])

_GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_EIRCODE_CHARS = "0123456789ACDEFHKNPRTVWXY"


def chunk_ids(prefix: str, chunk_index: int, local: np.ndarray) -> np.ndarray:
    """Globally unique, fixed-width ids: `<prefix><chunk:04d><local:07d>`."""
    return np.array([f"{prefix}{chunk_index:04d}{i:07d}" for i in local.tolist()], dtype=object)


def _choice(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]


def _postcode(country: str, prefix: str, rng: np.random.Generator) -> str:
    if country == "GB":
        letters = _GB_INWARD_LETTERS
        return f"{prefix} {rng.integers(1, 10)}{letters[rng.integers(0, 20)]}{letters[rng.integers(0, 20)]}"  # noqa: E501
    if country == "IE":
        tail = "".join(_EIRCODE_CHARS[k] for k in rng.integers(0, len(_EIRCODE_CHARS), 4))
        return f"{prefix} {tail}"
    if country == "NL":
        letters = "ABCEGHJKLNPRSTVXZ"
        return (
            f"{prefix}{rng.integers(10, 100)} "
            f"{letters[rng.integers(0, 17)]}{letters[rng.integers(0, 17)]}"
        )
    width = 5 - len(prefix)
    return f"{prefix}{int(rng.integers(0, 10**width)):0{width}d}"


def _mobile_national(country: str, rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, 9))
    if country == "GB":
        return "7" + digits
    if country == "IE":
        return "8" + "35679"[rng.integers(0, 5)] + digits[:7]
    if country == "DE":
        return "1" + "567"[rng.integers(0, 3)] + digits
    if country == "FR":
        return "67"[rng.integers(0, 2)] + digits[:8]
    if country == "NL":
        return "6" + digits[:8]
    return f"{rng.integers(201, 990)}" + str(rng.integers(2, 10)) + digits[:6]


def _landline_national(country: str, rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, 8))
    area = {"GB": "20", "IE": "1", "DE": "30", "FR": "1", "NL": "20", "US": "212"}[country]
    return area + digits[: 10 - len(area)] if country == "US" else area + digits


def _address(country: str, rng: np.random.Generator) -> tuple[str, str, str]:
    cities = ref.CITIES[country]
    city, prefixes = cities[int(rng.integers(0, len(cities)))]
    streets = ref.STREETS[country]
    street = streets[int(rng.integers(0, len(streets)))].format(n=int(rng.integers(1, 240)))
    return street, city, _postcode(country, prefixes[int(rng.integers(0, len(prefixes)))], rng)


def _email(given: str, family: str, domain: str, number: int, pattern: int) -> str:
    g = ascii_fold(given).lower().replace(" ", "").replace("'", "").replace("-", "")
    f = ascii_fold(family).lower().replace(" ", "").replace("'", "").replace("-", "")
    local = (
        f"{g}.{f}{number}",
        f"{g}{f}{number}",
        f"{g[0]}.{f}{number}",
        f"{g}_{f[:4]}{number}",
        f"{f}.{g}{number}",
        f"{g}.{f}",
    )[pattern]
    return f"{local}@{domain}"


def make_people(
    config: GeneratorConfig, chunk_index: int, start: int, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """People `start+1 .. start+n` (1-based person numbers) with canonical attributes."""
    mess = config.messiness
    as_of = config.as_of_epoch
    cutoff = config.churn_cutoff_epoch

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
        given[m] = _choice(rng, ref.GIVEN_NAMES[c], int(m.sum()))
        family[m] = _choice(rng, ref.FAMILY_NAMES[c], int(m.sum()))
    # Most household members share the family name of the first member.
    share_family = rng.random(n) < 0.7
    family = np.where(share_family, family[head_index], family)

    profile_idx = rng.choice(len(ref.PROFILES), size=n, p=ref.PROFILE_WEIGHTS)

    age_days = rng.integers(18 * 365, 85 * 365, n)
    birth = (np.datetime64(config.as_of.date()) - age_days.astype("timedelta64[D]")).astype(str)

    days_before = 30 + ((4 * 365 - 30) * rng.random(n) ** 1.3).astype(np.int64)
    first_seen = as_of - days_before * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, n)
    eligible = first_seen < cutoff - 60 * SECONDS_PER_DAY
    churned = eligible & (rng.random(n) < CHURN_PROBABILITY[profile_idx])
    span = np.maximum(cutoff - SECONDS_PER_DAY - first_seen, 0)
    churned_at = first_seen + (span * rng.uniform(0.3, 1.0, n)).astype(np.int64)
    end_at = np.where(churned, churned_at, as_of)

    moved = rng.random(n) < mess.moved_rate
    moved_at = first_seen + ((end_at - first_seen) * rng.uniform(0.2, 0.9, n)).astype(np.int64)
    moved_at = np.where(moved, moved_at, 0)

    streets, cities, postcodes = (np.empty(n, dtype=object) for _ in range(3))
    old_streets, old_cities, old_postcodes = (np.empty(n, dtype=object) for _ in range(3))
    mobiles = np.empty(n, dtype=object)
    landlines = np.empty(n, dtype=object)
    emails = np.empty(n, dtype=object)
    second_emails = np.full(n, "", dtype=object)
    has_landline = rng.random(n) < 0.4
    has_second = rng.random(n) < mess.second_email_rate
    patterns = rng.choice(6, size=n, p=[0.25, 0.2, 0.15, 0.1, 0.1, 0.2])
    numbers = rng.integers(1, 999, n)
    for i in range(n):
        c = country[i]
        h = head_index[i]
        if h == i:
            streets[i], cities[i], postcodes[i] = _address(c, rng)
            landlines[i] = _landline_national(c, rng) if has_landline[i] else ""
        else:
            streets[i], cities[i], postcodes[i] = streets[h], cities[h], postcodes[h]
            landlines[i] = landlines[h]
        if moved[i]:
            old_streets[i], old_cities[i], old_postcodes[i] = _address(c, rng)
        mobiles[i] = _mobile_national(c, rng)
        domains = ref.EMAIL_DOMAINS[c]
        emails[i] = _email(
            given[i], family[i], domains[numbers[i] % len(domains)], numbers[i], patterns[i]
        )
        if has_second[i]:
            work = ref.WORK_DOMAINS[(numbers[i] * 7) % len(ref.WORK_DOMAINS)]
            second_emails[i] = _email(given[i], family[i], work, (numbers[i] * 3) % 97, 2)
    old_streets = np.where(moved, old_streets, streets)
    old_cities = np.where(moved, old_cities, cities)
    old_postcodes = np.where(moved, old_postcodes, postcodes)

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
            "churned_at": np.where(churned, churned_at, 0),
            "has_crm": rng.random(n) < HAS_CRM[profile_idx],
            "has_loyalty": rng.random(n) < HAS_LOYALTY[profile_idx],
            "has_web": has_web,
            "has_account": has_account,
            "user_id": np.where(has_account, chunk_ids("U", chunk_index, user_local), ""),
            "pref_category_1": rng.integers(0, n_categories, n),
            "pref_category_2": rng.integers(0, n_categories, n),
        }
    )

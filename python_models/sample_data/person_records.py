"""Synthetic person records with known duplicates, for scale benchmarks.

People get Zipf-distributed names (so common names are common, as in real data), a date of
birth, email, phone, street, city and UK-style postcode; some share a household (address,
phone, family name) with someone else, which is the classic over-merge trap. About a third
of people get one to three further records, corrupted the way source systems corrupt them:
typos, nicknames, swapped names, day/month-swapped dates, missing fields, formatting noise.
Generation is vectorised with numpy apart from per-character typos on the corrupted subset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from python_models.sample_data import names, reference

# Names come from the one set of name lists (`names.py`), lower-cased as in the records.
NAME_COUNTRIES = ("GB", "IE", "US")
GIVEN_NAMES = [n.lower() for n in names.plain_names("given", NAME_COUNTRIES, 150)]
FAMILY_NAMES = [n.lower() for n in names.plain_names("family", NAME_COUNTRIES)]
# formal name -> its commonest everyday form, from the same lists' nicknames
NICKNAME_OF = {
    formal.lower(): variants[0].lower() for formal, variants in reference.NICKNAMES.items()
}
STREET_NAMES = [
    "high",
    "church",
    "station",
    "park",
    "victoria",
    "green",
    "manor",
    "kings",
    "queens",
    "new",
    "mill",
    "school",
    "grange",
    "windsor",
    "york",
    "albert",
    "chester",
    "mount",
    "oak",
    "elm",
    "cedar",
    "beech",
    "ash",
    "willow",
]
STREET_TYPES = ["street", "road", "avenue", "lane", "close", "drive", "way", "grove"]
STREET_ABBR = {"street": "st", "road": "rd", "avenue": "ave", "lane": "ln", "drive": "dr"}
CITIES = [
    "london",
    "birmingham",
    "manchester",
    "leeds",
    "glasgow",
    "sheffield",
    "bradford",
    "liverpool",
    "edinburgh",
    "bristol",
    "cardiff",
    "leicester",
    "coventry",
    "nottingham",
    "newcastle",
    "belfast",
    "brighton",
    "hull",
    "plymouth",
    "stoke",
    "wolverhampton",
    "derby",
    "swansea",
    "southampton",
    "salford",
    "aberdeen",
    "westminster",
    "portsmouth",
    "york",
    "peterborough",
    "dundee",
    "lancaster",
    "oxford",
    "newport",
    "preston",
    "cambridge",
]
EMAIL_DOMAINS = ["gmail.com", "yahoo.co.uk", "hotmail.com", "outlook.com", "icloud.com",
                 "btinternet.com", "example.org"]  # fmt: skip


def _zipf_choice(rng: np.random.Generator, size: int, n_values: int, a: float = 1.1):
    ranks = np.arange(1, n_values + 1, dtype=float)
    p = ranks**-a
    return rng.choice(n_values, size=size, p=p / p.sum())


def _typo(rng: np.random.Generator, text: str) -> str:
    if not text or len(text) < 3:
        return text
    i = int(rng.integers(1, len(text)))
    kind = rng.integers(0, 3)
    if kind == 0:  # substitute
        return text[:i] + "aeiourstln"[int(rng.integers(0, 10))] + text[i + 1 :]
    if kind == 1 and i < len(text) - 1:  # transpose
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + text[i + 1 :]  # delete


def _apply(mask: np.ndarray, values: np.ndarray, fn) -> np.ndarray:
    out = values.copy()
    idx = np.flatnonzero(mask)
    out[idx] = [fn(v) for v in values[idx]]
    return out


def generate_people(n_records: int, seed: int = 7) -> pd.DataFrame:
    """About `n_records` records: `record_id, given_name, family_name, email, phone, street,
    city, postcode, birth_date, person_id` (all strings; missing values are None)."""
    rng = np.random.default_rng(seed)
    n_people = max(1, int(n_records / 1.6))
    families = np.array(FAMILY_NAMES[: max(500, n_people // 40)])
    given = np.array(GIVEN_NAMES)[_zipf_choice(rng, n_people, len(GIVEN_NAMES), 0.8)]
    family = families[_zipf_choice(rng, n_people, len(families), 1.0)]
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n_people).astype(
        "timedelta64[D]"
    )
    birth_iso = np.datetime_as_string(birth, unit="D")
    house_no = rng.integers(1, 300, n_people).astype(str)
    street_name = np.array(STREET_NAMES)[rng.integers(0, len(STREET_NAMES), n_people)]
    street_type = np.array(STREET_TYPES)[rng.integers(0, len(STREET_TYPES), n_people)]
    street = np.char.add(
        np.char.add(np.char.add(house_no, " "), street_name), np.char.add(" ", street_type)
    )
    city = np.array(CITIES)[rng.integers(0, len(CITIES), n_people)]
    letters = np.array(list("ABCDEFGHJKLMNPRSTUWY"))
    postcode = [
        f"{a}{b}{d} {e}{f}{g}"
        for a, b, d, e, f, g in zip(
            letters[rng.integers(0, 20, n_people)], letters[rng.integers(0, 20, n_people)],
            rng.integers(1, 30, n_people), rng.integers(1, 10, n_people),
            letters[rng.integers(0, 20, n_people)], letters[rng.integers(0, 20, n_people)],
            strict=True,
        )
    ]  # fmt: skip
    postcode = np.array(postcode)
    phone_digits = rng.integers(10**8, 10**9, n_people).astype(str)
    phone = np.char.add("+44 7", phone_digits)
    tag = rng.integers(1, 10**4, n_people).astype(str)
    email = np.array(
        [
            f"{g}.{f}{t}@{d}"
            for g, f, t, d in zip(
                given, family, tag,
                np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n_people)],
                strict=True,
            )
        ]
    )  # fmt: skip
    # Households: 10% of people live with the person before them (address, phone, surname).
    house = np.flatnonzero(rng.random(n_people) < 0.10)
    house = house[house > 0]
    for arr in (street, city, postcode, phone, family):
        arr[house] = arr[house - 1]

    extra = np.where(rng.random(n_people) < 0.35, rng.integers(1, 4, n_people), 0)
    person = np.concatenate([np.arange(n_people), np.repeat(np.arange(n_people), extra)])
    is_dup = np.arange(person.size) >= n_people
    n = person.size
    cols = {
        "given_name": given[person].astype(object),
        "family_name": family[person].astype(object),
        "email": email[person].astype(object),
        "phone": phone[person].astype(object),
        "street": street[person].astype(object),
        "city": city[person].astype(object),
        "postcode": postcode[person].astype(object),
        "birth_date": birth_iso[person].astype(object),
    }

    def dup(p: float) -> np.ndarray:
        return is_dup & (rng.random(n) < p)

    g = cols["given_name"]
    cols["given_name"] = _apply(dup(0.10), g, lambda v: NICKNAME_OF.get(v, v))
    cols["given_name"] = _apply(dup(0.08), cols["given_name"], lambda v: _typo(rng, v))
    cols["family_name"] = _apply(dup(0.08), cols["family_name"], lambda v: _typo(rng, v))
    swap = dup(0.02)
    cols["given_name"][swap], cols["family_name"][swap] = (
        cols["family_name"][swap].copy(),
        cols["given_name"][swap].copy(),
    )
    cols["given_name"] = _apply(dup(0.3), cols["given_name"], str.title)
    cols["family_name"] = _apply(dup(0.3), cols["family_name"], str.upper)
    cols["email"] = _apply(dup(0.1), cols["email"], str.upper)
    cols["email"] = _apply(dup(0.08), cols["email"], lambda v: v.replace("@", "+shop@"))
    cols["phone"] = _apply(dup(0.3), cols["phone"], lambda v: "0" + v[4:])
    cols["phone"] = _apply(dup(0.04), cols["phone"], lambda v: _typo(rng, v))
    cols["street"] = _apply(
        dup(0.2),
        cols["street"],
        lambda v: " ".join(STREET_ABBR.get(t, t) for t in v.split()).title(),
    )
    cols["street"] = _apply(dup(0.06), cols["street"], lambda v: _typo(rng, v))
    cols["postcode"] = _apply(dup(0.3), cols["postcode"], lambda v: v.lower().replace(" ", ""))
    cols["birth_date"] = _apply(
        dup(0.04), cols["birth_date"], lambda v: f"{v[:4]}-{v[8:]}-{v[5:7]}"
    )  # day and month swapped (the normaliser may repair it or see the swap level)
    cols["birth_date"] = _apply(
        dup(0.25), cols["birth_date"], lambda v: f"{v[8:]}/{v[5:7]}/{v[:4]}"
    )
    cols["birth_date"] = _apply(dup(0.03), cols["birth_date"], lambda v: _typo(rng, v))
    missing_rate = {"email": 0.3, "phone": 0.3, "street": 0.15, "city": 0.1,
                    "postcode": 0.1, "birth_date": 0.15, "given_name": 0.03}  # fmt: skip
    for col, rate in missing_rate.items():
        cols[col][dup(rate)] = None
    frame = pd.DataFrame(cols)
    order = rng.permutation(n)
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "record_id", [f"r{i:08d}" for i in range(n)])
    frame["person_id"] = [f"p{i:08d}" for i in person[order]]
    return frame

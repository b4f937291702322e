"""Ways real people and clerks garble identifiers: typos, nicknames, e-mail and phone variants.

Each function is pure: it takes values and a numpy Generator and returns new values, so the
same seed always produces the same mess. Row-wise Python only runs on the (small) subset of
rows that gets a given kind of mess; selection itself is vectorised.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from python_models.sample_data.reference import NICKNAMES, STREET_ABBREVIATIONS

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_KEYBOARD_NEIGHBOURS = {
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "wa", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "xa",
}  # fmt: skip
_ASCII_FOLD = str.maketrans({"ß": "ss", "Ł": "L", "ł": "l", "ø": "o", "Ø": "O", "ı": "i"})


def ascii_fold(text: str) -> str:
    """'Łukasz Müller' -> 'Lukasz Muller': what people type into e-mail addresses."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def typo(text: str, rng: np.random.Generator) -> str:
    """Apply one or two character edits (substitute, delete, transpose, double a letter)."""
    out = text
    for _ in range(1 if rng.random() < 0.75 else 2):
        if len(out) < 3:
            break
        pos = int(rng.integers(1, len(out) - 1))
        kind = int(rng.integers(0, 4))
        ch = out[pos]
        if kind == 0:
            pool = _KEYBOARD_NEIGHBOURS.get(ch.lower(), _LETTERS)
            new = pool[int(rng.integers(0, len(pool)))]
            out = out[:pos] + (new.upper() if ch.isupper() else new) + out[pos + 1 :]
        elif kind == 1:
            out = out[:pos] + out[pos + 1 :]
        elif kind == 2:
            out = out[: pos - 1] + out[pos] + out[pos - 1] + out[pos + 1 :]
        else:
            out = out[:pos] + ch + out[pos:]
    return out


def nickname(given_name: str, rng: np.random.Generator) -> str:
    """A nickname for a formal given name, or the name itself when it has none."""
    options = NICKNAMES.get(given_name)
    if not options:
        return given_name
    return options[int(rng.integers(0, len(options)))]


def email_variant(email: str, rng: np.random.Generator) -> str:
    """Same mailbox, different spelling: case, gmail dots, plus-addressing, padding."""
    local, _, domain = email.partition("@")
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return email.upper() if rng.random() < 0.3 else local.capitalize() + "@" + domain.title()
    if kind == 1 and domain == "gmail.com":
        if "." in local:
            return local.replace(".", "") + "@" + domain
        pos = int(rng.integers(1, max(2, len(local))))
        return local[:pos] + "." + local[pos:] + "@" + ("googlemail.com" if pos % 2 else domain)
    if kind == 2:
        tag = ("shop", "news", "promo", "orders")[int(rng.integers(0, 4))]
        return f"{local}+{tag}@{domain}"
    if kind == 3:
        return f" {email} " if rng.random() < 0.5 else f"{email} "
    return local.capitalize() + "@" + domain


def format_phone(country_code: str, national: str, style: int) -> str:
    """Render one E.164 number (`+<cc><national>`) in one of the ways people write phones.

    Styles: 0 E.164, 1 international with spaces, 2 `00` prefix, 3 national with trunk 0 and
    spaces, 4 national with dashes, 5 national digits only, 6 `+44 (0)…`.
    """
    trunk = "" if country_code == "1" else "0"
    if country_code == "1":
        grouped = f"{national[:3]} {national[3:6]} {national[6:]}"
        dashed = f"({national[:3]}) {national[3:6]}-{national[6:]}"
    else:
        head = national[:4] if national[0] == "7" else national[:3]
        rest = national[len(head) :]
        grouped = f"{head} {rest[: len(rest) // 2]} {rest[len(rest) // 2 :]}".strip()
        dashed = f"{trunk}{head}-{rest}"
    if style == 0:
        return f"+{country_code}{national}"
    if style == 1:
        return f"+{country_code} {grouped}"
    if style == 2:
        return f"00{country_code} {grouped}"
    if style == 3:
        return f"{trunk}{grouped}"
    if style == 4:
        return dashed
    if style == 5:
        return f"{trunk}{national}"
    if not trunk:
        return f"+{country_code} {grouped}"
    return f"+{country_code} (0){grouped}"


PHONE_STYLE_WEIGHTS: tuple[float, ...] = (0.30, 0.20, 0.08, 0.20, 0.08, 0.10, 0.04)


def abbreviate_street(street: str) -> str:
    for long, short in STREET_ABBREVIATIONS:
        if long in street:
            return street.replace(long, short)
    return street.upper()


def pick_mask(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Boolean mask selecting about `rate` of `n` rows."""
    return rng.random(n) < rate


def apply_to_masked(
    values: np.ndarray, mask: np.ndarray, func, rng: np.random.Generator
) -> np.ndarray:
    """Return a copy of `values` with `func(value, rng)` applied where mask is set."""
    out = values.copy()
    for i in np.flatnonzero(mask):
        v = out[i]
        if isinstance(v, str) and v:
            out[i] = func(v, rng)
    return out

"""Pure normalisers for person attributes: names, emails, phones, postcodes, dates, streets.

Each takes one raw value (str or None) and returns a canonical string, or None when nothing
usable is left. They hold no state and do no I/O; `prepare` runs them inside DuckDB as
vectorised UDFs, so the same code is used by tests, by users and by the warehouse.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import jellyfish

# The one list of role and placeholder mailboxes (info@, noreply@ ...), the placeholder
# domains and phone numbers: `MatchConfig` takes its defaults from here.
GENERIC_EMAIL_LOCAL_PARTS: tuple[str, ...] = (
    "accounts", "admin", "administrator", "billing", "contact", "customer", "do-not-reply",
    "donotreply", "email", "enquiries", "enquiry", "family", "hello", "help", "home", "info",
    "inquiries", "mail", "na", "no-reply", "none", "noreply", "null", "office", "orders",
    "postmaster", "reception", "sales", "service", "shop", "support", "team", "test",
    "testing", "unknown", "webmaster",
)  # fmt: skip
GENERIC_EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "test.com")
GENERIC_PHONES: tuple[str, ...] = ("+10000000000", "+440000000000", "+441234567890")
GMAIL_DOMAINS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})

# Common English-language nicknames -> canonical given name. Deliberately conservative:
# only forms that almost always mean the one name (not e.g. "chris", which is ambiguous).
NICKNAMES: dict[str, str] = {
    "abby": "abigail",
    "al": "albert",
    "alex": "alexander",
    # a few unambiguous forms from the other languages of the customer base
    "sasha": "alexander",
    "sacha": "alexander",
    "lexi": "alexandra",
    "lexie": "alexandra",
    "pepe": "jose",
    "paco": "francisco",
    "pancho": "francisco",
    "nacho": "ignacio",
    "lola": "dolores",
    "manu": "emmanuel",
    "andy": "andrew",
    "drew": "andrew",
    "tony": "anthony",
    "barb": "barbara",
    "ben": "benjamin",
    "benny": "benjamin",
    "bill": "william",
    "billy": "william",
    "will": "william",
    "willy": "william",
    "liam": "william",
    "bob": "robert",
    "bobby": "robert",
    "rob": "robert",
    "robbie": "robert",
    "bert": "albert",
    "cathy": "catherine",
    "kathy": "catherine",
    "kate": "catherine",
    "katie": "catherine",
    "cath": "catherine",
    "katherine": "catherine",
    "kathryn": "catherine",
    "charlie": "charles",
    "chuck": "charles",
    "dan": "daniel",
    "danny": "daniel",
    "dave": "david",
    "davy": "david",
    "debbie": "deborah",
    "deb": "deborah",
    "dick": "richard",
    "rich": "richard",
    "rick": "richard",
    "ricky": "richard",
    "ed": "edward",
    "eddie": "edward",
    "ted": "edward",
    "teddy": "edward",
    "liz": "elizabeth",
    "lizzie": "elizabeth",
    "beth": "elizabeth",
    "betty": "elizabeth",
    "eliza": "elizabeth",
    "frank": "francis",
    "fred": "frederick",
    "freddie": "frederick",
    "greg": "gregory",
    "harry": "henry",
    "hank": "henry",
    "jim": "james",
    "jimmy": "james",
    "jamie": "james",
    "jen": "jennifer",
    "jenny": "jennifer",
    "jeff": "jeffrey",
    "jerry": "gerald",
    "joe": "joseph",
    "joey": "joseph",
    "johnny": "john",
    "jack": "john",
    "jon": "jonathan",
    "josh": "joshua",
    "kim": "kimberly",
    "larry": "lawrence",
    "len": "leonard",
    "lenny": "leonard",
    "maggie": "margaret",
    "meg": "margaret",
    "peggy": "margaret",
    "marge": "margaret",
    "matt": "matthew",
    "mike": "michael",
    "mick": "michael",
    "mickey": "michael",
    "nate": "nathan",
    "nick": "nicholas",
    "nicky": "nicholas",
    "pat": "patricia",
    "patty": "patricia",
    "pete": "peter",
    "phil": "philip",
    "ray": "raymond",
    "ron": "ronald",
    "ronnie": "ronald",
    "sam": "samuel",
    "sammy": "samuel",
    "sandy": "sandra",
    "steve": "stephen",
    "steven": "stephen",
    "sue": "susan",
    "susie": "susan",
    "tom": "thomas",
    "tommy": "thomas",
    "tim": "timothy",
    "timmy": "timothy",
    "vicky": "victoria",
    "vic": "victor",
    "walt": "walter",
    "wally": "walter",
    "zach": "zachary",
    "zack": "zachary",
    "jo": "joanne",
    "mandy": "amanda",
    "becky": "rebecca",
    "becca": "rebecca",
    "chrissy": "christine",
    "tina": "christina",
    "nan": "ann",
    "nancy": "ann",
    "annie": "ann",
    "anne": "ann",
    "sophie": "sophia",
    "ellie": "eleanor",
    "nell": "eleanor",
    "molly": "mary",
    "polly": "mary",
    "jess": "jessica",
    "jessie": "jessica",
    "stu": "stuart",
    "doug": "douglas",
    "ken": "kenneth",
    "kenny": "kenneth",
    "don": "donald",
    "donny": "donald",
    "gerry": "gerald",
}

# Street-type abbreviations -> full word (UK, US and Australian usage).
STREET_ABBREVIATIONS: dict[str, str] = {
    "st": "street",
    "str": "street",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "dr": "drive",
    "drv": "drive",
    "ln": "lane",
    "ct": "court",
    "crt": "court",
    "pl": "place",
    "cres": "crescent",
    "cr": "crescent",
    "blvd": "boulevard",
    "hwy": "highway",
    "sq": "square",
    "tce": "terrace",
    "ter": "terrace",
    "terr": "terrace",
    "pde": "parade",
    "cct": "circuit",
    "cl": "close",
    "gr": "grove",
    "gro": "grove",
    "mt": "mount",
    "pk": "park",
    "wy": "way",
    "gdns": "gardens",
    "gdn": "garden",
    "hts": "heights",
    "esp": "esplanade",
    "rdg": "ridge",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "apt": "flat",
    "unit": "flat",
}

# ISO 3166 alpha-2 -> international calling code, for E.164 phone numbers.
CALLING_CODES: dict[str, str] = {
    "GB": "44",
    "UK": "44",
    "IE": "353",
    "US": "1",
    "CA": "1",
    "AU": "61",
    "NZ": "64",
    "DE": "49",
    "FR": "33",
    "NL": "31",
    "BE": "32",
    "ES": "34",
    "PT": "351",
    "IT": "39",
    "AT": "43",
    "CH": "41",
    "SE": "46",
    "NO": "47",
    "DK": "45",
    "FI": "358",
    "PL": "48",
    "IN": "91",
    "ZA": "27",
}

_NON_NAME = re.compile(r"[^a-z\s'-]")
_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NON_DIGIT = re.compile(r"\D")
_DATE_PARTS = re.compile(r"^(\d{1,4})\D(\d{1,2})\D(\d{1,4})")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164_DIGITS = re.compile(r"[1-9][0-9]{6,14}")


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def strip_accents(text: str) -> str:
    """Remove diacritics: 'Zoë Núñez' -> 'Zoe Nunez' (compatibility-decomposed first)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_name(value: object) -> str | None:
    """Casefolded, accent-free name with only letters, single spaces, hyphens, apostrophes
    removed: "  O'Brien-Smith " -> "obrien smith"."""
    text = _clean(value)
    if text is None:
        return None
    text = strip_accents(text).casefold().replace("ß", "ss")
    text = _NON_NAME.sub(" ", text).replace("'", "").replace("-", " ")
    text = _SPACES.sub(" ", text).strip()
    return text or None


def canonical_given_name(value: object) -> str | None:
    """Normalised given name with a known nickname mapped to its formal form ('Bill' ->
    'william'); only the first word of a multi-word given name is mapped."""
    name = normalise_name(value)
    if name is None:
        return None
    first, _, rest = name.partition(" ")
    first = NICKNAMES.get(first, first)
    return f"{first} {rest}".strip()


def phonetic_key(value: object) -> str | None:
    """Metaphone key of a normalised name, spaces removed, so spelling variants share a key:
    'Smith'/'Smyth' -> 'SM0', 'Catherine'/'Kathryn' -> 'K0RN'. (Metaphone groups these
    better than NYSIIS, which keeps vowel differences such as Smith 'SNAT' / Smyth 'SNYT'.)"""
    name = normalise_name(value)
    if name is None:
        return None
    return jellyfish.metaphone(name.replace(" ", "")) or None


def normalise_email(
    value: object, strip_plus_tags: bool = True, gmail_dot_rule: bool = True
) -> str | None:
    """Trimmed, lower-cased email; None unless it is one well-formed address (`local@domain.tld`,
    no spaces, one '@').

    Rules: drop '+tag' from the local part (`strip_plus_tags`); drop dots from Gmail local
    parts and read googlemail.com as gmail.com (`gmail_dot_rule`: Gmail ignores both). An
    address left with an empty local part is None. Every identity path (deterministic links,
    the matcher, the bring-your-own-data resolver) calls this one function."""
    text = _clean(value)
    if text is None:
        return None
    text = text.lower()
    if not _EMAIL_SHAPE.fullmatch(text):
        return None
    local, domain = text.split("@")
    if strip_plus_tags:
        local = local.split("+", 1)[0]
    if gmail_dot_rule and domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def is_generic_email(
    email: str | None,
    local_parts: tuple[str, ...] | frozenset[str] = GENERIC_EMAIL_LOCAL_PARTS,
    domains: tuple[str, ...] | frozenset[str] = GENERIC_EMAIL_DOMAINS,
) -> bool:
    """Whether a normalised email is a role or placeholder mailbox (info@, noreply@,
    anything@example.com): such an address says nothing about who a record is."""
    if not email or "@" not in email:
        return False
    local, _, domain = email.rpartition("@")
    return local in local_parts or domain in domains


def email_local_part(email: str | None) -> str | None:
    """The part before '@' of an already-normalised email."""
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[0] or None


def normalise_phone(
    value: object, country: object = None, default_country_code: str | None = None
) -> str | None:
    """E.164 ('+441632960001') when the number is international or its country is known,
    else the national digits; None for fewer than 7 digits or a number that is not E.164
    (a leading 0 after the calling code's '+', more than 15 digits with it).

    '+44 (0)1632 960001', '0044 1632 960001' and '01632 960001' with country GB agree.
    Every identity path calls this one function."""
    text = _clean(value)
    if text is None:
        return None
    international = text.startswith("+")
    text = text.replace("(0)", "")
    digits = _NON_DIGIT.sub("", text)
    if digits.startswith("00"):
        digits, international = digits[2:], True
    if len(digits) < 7:
        return None
    if international:
        return f"+{digits}" if _E164_DIGITS.fullmatch(digits) else None
    code = CALLING_CODES.get(str(country).strip().upper()) if _clean(country) else None
    code = code or default_country_code
    if code and digits.startswith("0"):
        digits = f"{code}{digits.lstrip('0')}"
    elif code == "1" and len(digits) == 10:
        digits = f"1{digits}"
    else:
        return digits
    # too long for E.164 with its calling code: not a number (and '+' + these digits would
    # not normalise to itself)
    return f"+{digits}" if _E164_DIGITS.fullmatch(digits) else None


def phone_suffix(phone: str | None, length: int = 7) -> str | None:
    """Last `length` digits of a normalised phone: matches across formatting and prefixes."""
    if not phone:
        return None
    digits = _NON_DIGIT.sub("", phone)
    return digits[-length:] if len(digits) >= length else None


def normalise_postcode(value: object) -> str | None:
    """Upper-case, alphanumerics only: ' sw1a 1aa ' -> 'SW1A1AA'."""
    text = _clean(value)
    if text is None:
        return None
    return _NON_ALNUM.sub("", text.lower()).upper() or None


def _valid_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def normalise_birth_date(value: object, day_first: bool = True) -> str | None:
    """ISO 'YYYY-MM-DD' from ISO, 'YYYYMMDD', 'DD/MM/YYYY' (or month-first when
    `day_first=False`) and timestamps; a month over 12 with a day up to 12 is read as the
    two transposed. None for anything that is not a real calendar date."""
    text = _clean(value)
    if text is None:
        return None
    if text.isdigit() and len(text) == 8:
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    else:
        match = _DATE_PARTS.match(text)
        if not match:
            return None
        a, b, c = match.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif len(c) == 4:
            year = int(c)
            day, month = (int(a), int(b)) if day_first else (int(b), int(a))
        else:
            return None
    if month > 12 and day <= 12:
        month, day = day, month
    return _valid_date(year, month, day)


def swapped_birth_date(iso_date: str | None) -> str | None:
    """The same date with day and month exchanged, when that is also a real date and differs:
    catches DD/MM vs MM/DD confusion between sources."""
    if not iso_date or len(iso_date) != 10:
        return None
    year, month, day = int(iso_date[:4]), int(iso_date[5:7]), int(iso_date[8:])
    if month == day or day > 12:
        return None
    return _valid_date(year, day, month)


def normalise_street(value: object) -> str | None:
    """Casefolded, accent-free street tokens with abbreviations expanded:
    '12 High St.' -> '12 high street'."""
    text = _clean(value)
    if text is None:
        return None
    text = strip_accents(text).casefold()
    tokens = [STREET_ABBREVIATIONS.get(tok, tok) for tok in _NON_ALNUM.split(text) if tok]
    return " ".join(tokens) or None


def normalise_text(value: object) -> str | None:
    """Generic free text (city, identifiers): accent-free, casefolded, alphanumeric tokens
    separated by single spaces."""
    text = _clean(value)
    if text is None:
        return None
    tokens = _NON_ALNUM.split(strip_accents(text).casefold())
    return " ".join(tok for tok in tokens if tok) or None

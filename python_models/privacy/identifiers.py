"""The identifiers that name a person, normalised the same way in Python and in SQL.

An erasure request, a tombstone and the extract's check must agree on what "the same
identifier" is, whatever way a source wrote it: `Ann.Lee+news@GoogleMail.com` is
`annlee@gmail.com`, and `+44 (0)20 7946 0958`, `020-7946-0958` and `0044 20 7946 0958` are
the phone key `079460958` (its last nine digits, as staging's `phone_match_key`: the national
number without trunk prefix or country code, since many records carry no country). Record
ids (CRM id, loyalty id, shop account, cookie, order, ticket) are trimmed and lower-cased.
"""

from __future__ import annotations

import re

from python_models.identity.normalise import normalise_email

#: identifier kinds, and the `source_system` of the identity graph whose record id each is.
RECORD_KINDS: dict[str, str] = {
    "crm_id": "crm",
    "loyalty_id": "loyalty",
    "order_id": "shop",
    "ticket_id": "support",
    "user_id": "web_user",
    "anonymous_id": "web_anonymous",
}
CONTACT_KINDS: tuple[str, ...] = ("email", "phone")
KINDS: tuple[str, ...] = (*CONTACT_KINDS, *RECORD_KINDS, "customer_key")
#: what a request may name a person by (the issue's list; the rest are found from them)
REQUEST_KINDS: tuple[str, ...] = ("email", "phone", "loyalty_id", "crm_id", "customer_key")
PHONE_KEY_DIGITS = 9
_NON_DIGIT = re.compile(r"[^0-9]")


def normalise_phone_key(value: object) -> str | None:
    """The last nine digits of a phone as written (without a bracketed `(0)`), or None."""
    if value is None:
        return None
    digits = _NON_DIGIT.sub("", str(value).strip().replace("(0)", ""))
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= PHONE_KEY_DIGITS else None


def normalise_record_id(value: object) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    return text or None


def normalise_identifier(kind: str, value: object) -> str | None:
    """The normalised form of one identifier of `kind`; None when it cannot be one."""
    if kind == "email":
        return normalise_email(value)
    if kind == "phone":
        return normalise_phone_key(value)
    if kind == "contact":
        text = "" if value is None else str(value)
        return normalise_email(text) if "@" in text else normalise_phone_key(text)
    if kind in RECORD_KINDS or kind == "customer_key":
        return normalise_record_id(value)
    raise ValueError(f"unknown identifier kind {kind!r}; expected one of {', '.join(KINDS)}")


def email_sql(expression: str) -> str:
    """SQL for `normalise_email` (lower, trim, no +tag, Gmail dots); null unless one address."""
    e = f"lower(trim({expression}))"
    local = f"split_part(split_part({e}, '@', 1), '+', 1)"
    domain = f"split_part({e}, '@', 2)"
    return (
        f"(case when regexp_full_match({e}, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') then "
        f"nullif(case when {domain} in ('gmail.com', 'googlemail.com') "
        f"then replace({local}, '.', '') else {local} end, '') || '@' || "
        f"case when {domain} = 'googlemail.com' then 'gmail.com' else {domain} end end)"
    )


def phone_key_sql(expression: str) -> str:
    """SQL for `normalise_phone_key`."""
    digits = f"regexp_replace(replace(trim({expression}), '(0)', ''), '[^0-9]', '', 'g')"
    n = PHONE_KEY_DIGITS
    return f"(case when length({digits}) >= {n} then right({digits}, {n}) end)"


def record_id_sql(expression: str) -> str:
    return f"nullif(lower(trim({expression})), '')"


def identifier_sql(kind: str, expression: str) -> str:
    """SQL normalising `expression` as an identifier of `kind` (same result as Python)."""
    if kind == "email":
        return email_sql(expression)
    if kind == "phone":
        return phone_key_sql(expression)
    if kind == "contact":
        return (
            f"(case when contains({expression}, '@') then {email_sql(expression)} "
            f"else {phone_key_sql(expression)} end)"
        )
    if kind in RECORD_KINDS or kind == "customer_key":
        return record_id_sql(expression)
    raise ValueError(f"unknown identifier kind {kind!r}; expected one of {', '.join(KINDS)}")


def contact_kind_sql(expression: str) -> str:
    """SQL: which kind a `contact` column's value is ('email' or 'phone')."""
    return f"(case when contains({expression}, '@') then 'email' else 'phone' end)"

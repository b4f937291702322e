"""Rule constructors and the reference values they check against, so `tables.py` reads like a table.

Raw values are VARCHAR as read, so every check is NULL- and garbage-safe: a value that does not
parse fails the parse rule of its column, never a cast. Families: schema, format, range,
uniqueness, completeness, accepted_values, consistency.
"""

from __future__ import annotations

from python_models.contract.spec import FUTURE_TOLERANCE_HOURS, Family, Rule, Severity

EMAIL_PATTERN = r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
# Postcodes by ISO country; a country not listed here is not checked.
POSTCODE_PATTERNS: dict[str, str] = {
    "GB": r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}",
    "IE": r"[A-Za-z][0-9][0-9Ww] ?[A-Za-z0-9]{4}",
    "US": r"[0-9]{5}(-[0-9]{4})?",
    "DE": r"[0-9]{5}",
    "FR": r"[0-9]{5}",
    "ES": r"[0-9]{5}",
    "IT": r"[0-9]{5}",
    "NL": r"[0-9]{4} ?[A-Za-z]{2}",
    "BE": r"[0-9]{4}",
    "AT": r"[0-9]{4}",
    "CH": r"[0-9]{4}",
    "DK": r"[0-9]{4}",
    "PT": r"[0-9]{4}-[0-9]{3}",
    "SE": r"[0-9]{3} ?[0-9]{2}",
    "PL": r"[0-9]{2}-[0-9]{3}",
    "CA": r"[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]",
    "AU": r"[0-9]{4}",
}
ISO_CURRENCIES: tuple[str, ...] = (
    "GBP", "EUR", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "JPY",
)  # fmt: skip
ISO_COUNTRIES: tuple[str, ...] = (
    "GB", "IE", "US", "CA", "AU", "NZ", "DE", "FR", "ES", "IT", "NL", "BE", "LU", "AT", "CH",
    "DK", "SE", "NO", "FI", "PT", "PL", "CZ", "GR", "HU", "RO", "JP", "IN", "BR", "MX", "ZA",
)  # fmt: skip
EVENT_NAMES: tuple[str, ...] = (
    "page_view", "product_view", "search", "add_to_cart", "remove_from_cart",
    "checkout_start", "purchase", "email_open", "email_click", "login",
)  # fmt: skip
# `placed`: taken by the shop database but not yet fulfilled (the live shop source)
ORDER_STATUSES: tuple[str, ...] = ("placed", "completed", "cancelled", "returned")
CONSENT_PURPOSES: tuple[str, ...] = ("email_marketing", "personalization", "analytics")
CONSENT_STATUSES: tuple[str, ...] = ("granted", "withdrawn")
IDENTIFIER_TYPES: tuple[str, ...] = ("email", "phone")
EARLIEST_TIMESTAMP = "2000-01-01"


def required(*columns: str, severity: Severity = "blocking") -> list[Rule]:
    return [
        Rule(f"{c}_required", "schema", severity, "required", (c,), {}, f"{c} is filled")
        for c in columns
    ]


def unique_key(*columns: str) -> Rule:
    return Rule(
        f"{'_'.join(columns)}_unique",
        "uniqueness",
        "blocking",
        "unique_in_load",
        tuple(columns),
        {},
        "natural key appears once per load (later duplicates are quarantined)",
    )


def email_format(column: str, severity: Severity = "warning") -> Rule:
    return Rule(
        f"{column}_format",
        "format",
        severity,
        "regex",
        (column,),
        {"pattern": EMAIL_PATTERN},
        "looks like an email address",
    )


def phone_format(column: str, severity: Severity = "warning") -> Rule:
    return Rule(
        f"{column}_format",
        "format",
        severity,
        "phone",
        (column,),
        {"min_digits": 7, "max_digits": 15},
        "phone of 7-15 digits, only digits, spaces, + ( ) - .",
    )


def postcode_format(column: str, country_column: str | None) -> Rule:
    """Postcode format of the row's country; without a country column, of any known country."""
    columns = (column, country_column) if country_column else (column,)
    return Rule(
        f"{column}_format",
        "format",
        "warning",
        "postcode_by_country",
        columns,
        {"patterns": POSTCODE_PATTERNS},
        "postcode matches its country's format",
    )


def accepted(
    column: str, values: tuple[str, ...], severity: Severity = "blocking", family: Family = ""
) -> Rule:
    return Rule(
        f"{column}_accepted_values",
        family or "accepted_values",
        severity,
        "accepted_values",
        (column,),
        {"values": tuple(values)},
        f"one of {', '.join(values)}",
    )


def numeric(
    column: str,
    min_value: float | None = None,
    max_value: float | None = None,
    severity: Severity = "blocking",
    integer: bool = False,
) -> Rule:
    bounds = []
    if min_value is not None:
        bounds.append(f">= {min_value:g}")
    if max_value is not None:
        bounds.append(f"<= {max_value:g}")
    return Rule(
        f"{column}_range",
        "range",
        severity,
        "integer" if integer else "numeric",
        (column,),
        {"min": min_value, "max": max_value},
        f"{'an integer' if integer else 'a number'} {' and '.join(bounds)}".strip(),
    )


def timestamp(column: str, severity: Severity = "blocking") -> Rule:
    return Rule(
        f"{column}_timestamp",
        "range",
        severity,
        "timestamp",
        (column,),
        {"earliest": EARLIEST_TIMESTAMP, "future_tolerance_hours": FUTURE_TOLERANCE_HOURS},
        f"ISO timestamp, not before {EARLIEST_TIMESTAMP} and not after the run's as_of "
        f"(+{FUTURE_TOLERANCE_HOURS}h)",
    )


#: countries that write dates month first (12/31/1990); elsewhere 31/12/1990 is read day
#: first. Mirrored by the dbt var `month_first_countries` (a test keeps them equal).
MONTH_FIRST_COUNTRIES: tuple[str, ...] = ("US",)
DATE_FORMATS = "ISO (1990-12-31), compact (19901231), or D/M/Y (M/D/Y in month-first countries)"


def date_value(column: str, country_column: str | None = None) -> Rule:
    """The value parses as a date in one of the common formats staging reads; a value that
    does not stays in raw and is counted here (staging leaves that one NULL)."""
    return Rule(
        f"{column}_date",
        "format",
        "warning",
        "date",
        (column, country_column) if country_column else (column,),
        {"month_first_countries": MONTH_FIRST_COUNTRIES},
        f"a date: {DATE_FORMATS}; '/', '.' or '-' between parts",
    )


def age(column: str, min_years: int = 13, max_years: int = 120) -> Rule:
    return Rule(
        f"{column}_age",
        "range",
        "warning",
        "age_years",
        (column,),
        {"min": min_years, "max": max_years},
        f"a parsed date giving an age of {min_years}-{max_years} at the run's as_of",
    )


def not_before(later: str, earlier: str) -> Rule:
    return Rule(
        f"{later}_after_{earlier}",
        "range",
        "warning",
        "not_before",
        (later, earlier),
        {},
        f"{later} is not before {earlier}",
    )


def completeness(column: str, threshold: float) -> Rule:
    return Rule(
        f"{column}_completeness",
        "completeness",
        "warning",
        "completeness",
        (column,),
        {"threshold": threshold},
        f"at least {threshold:.0%} of rows have {column}",
    )


def exists_in_sources(
    column: str, targets: tuple[tuple[str, str], ...], max_unknown_share: float = 0.01
) -> Rule:
    """References that no target source knows; passes while their share is within tolerance
    (guest checkouts legitimately carry emails no other source has seen)."""
    return Rule(
        f"{column}_known_customer",
        "consistency",
        "warning",
        "exists_in_sources",
        (column,),
        {"targets": targets, "max_unknown_share": max_unknown_share},
        f"{column} is known in {', '.join(f'{t}.{c}' for t, c in targets)} "
        f"(at most {max_unknown_share:.0%} unknown)",
    )


def agrees_across_sources(
    key: str, attribute: str, targets: tuple[tuple[str, str, str], ...]
) -> Rule:
    """Rows whose `attribute` differs from another source's for the same `key` (e.g. email)."""
    return Rule(
        f"{attribute}_agrees_by_{key}",
        "consistency",
        "warning",
        "agrees_across_sources",
        (key, attribute),
        {"targets": targets},
        f"same {key} has the same {attribute} in " + ", ".join(f"{t}.{a}" for t, _, a in targets),
    )


EMAIL_TARGETS = (
    ("crm_contacts", "email"),
    ("pos_loyalty_members", "email"),
    ("support_tickets", "customer_email"),
)

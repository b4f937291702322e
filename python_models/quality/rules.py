"""The one declarative registry of data-quality rules, per raw table.

Every rule names a column (or columns), a check kind with its parameters, a family (schema,
format, range, uniqueness, completeness, accepted_values, consistency) and a severity:
`blocking` rules send the failing row to `quarantine.<table>`, `warning` rules are recorded and
the row is kept. The same `Rule` objects compile to DuckDB SQL predicates (`sql.py`, used by the
quarantine and by replay) and to great-expectations expectations (`expectations.py`), so a rule
is written once. Raw values are VARCHAR as read, so every check is NULL- and garbage-safe: a
value that does not parse fails the parse rule of its column, never a cast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["blocking", "warning"]
Family = Literal[
    "schema", "format", "range", "uniqueness", "completeness", "accepted_values", "consistency"
]
# Row-level kinds compile to a per-row SQL predicate; table-level kinds yield one figure per load.
RowKind = Literal[
    "required",
    "regex",
    "phone",
    "postcode_by_country",
    "accepted_values",
    "numeric",
    "integer",
    "timestamp",
    "age_years",
    "not_before",
    "unique_in_load",
    "json_numeric",
    "identifier_format",
]
TableKind = Literal["completeness", "exists_in_sources", "agrees_across_sources"]
ROW_KINDS: frozenset[str] = frozenset(RowKind.__args__)  # type: ignore[attr-defined]
TABLE_KINDS: frozenset[str] = frozenset(TableKind.__args__)  # type: ignore[attr-defined]

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
# `placed`: an order the shop database has taken but not yet fulfilled (live source)
ORDER_STATUSES: tuple[str, ...] = ("placed", "completed", "cancelled", "returned")
CONSENT_PURPOSES: tuple[str, ...] = ("email_marketing", "personalization", "analytics")
CONSENT_STATUSES: tuple[str, ...] = ("granted", "withdrawn")
IDENTIFIER_TYPES: tuple[str, ...] = ("email", "phone")
EARLIEST_TIMESTAMP = "2000-01-01"


@dataclass(frozen=True)
class Rule:
    """One data-quality rule on one raw table."""

    name: str
    family: Family
    severity: Severity
    kind: str
    columns: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def column(self) -> str:
        return self.columns[0]

    @property
    def is_row_rule(self) -> bool:
        return self.kind in ROW_KINDS


@dataclass(frozen=True)
class TableRules:
    """The rules of one raw table, plus what the scorecard needs to know about it."""

    table: str
    natural_key: tuple[str, ...]
    key_attributes: tuple[str, ...]
    rules: tuple[Rule, ...]
    freshness_sla_hours: float = 24.0
    event_time_column: str | None = None

    def row_rules(self, severity: Severity | None = None) -> list[Rule]:
        return [
            r for r in self.rules if r.is_row_rule and (severity is None or r.severity == severity)
        ]

    def table_rules(self) -> list[Rule]:
        return [r for r in self.rules if not r.is_row_rule]

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"{self.table}: no rule named {name!r}")


# --- small constructors so the registry below reads like a table -------------------------------


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
        {"earliest": EARLIEST_TIMESTAMP, "future_tolerance_hours": 24},
        f"ISO timestamp, not before {EARLIEST_TIMESTAMP} and not after the load (+24h)",
    )


def age(column: str, min_years: int = 13, max_years: int = 120) -> Rule:
    return Rule(
        f"{column}_age",
        "range",
        "warning",
        "age_years",
        (column,),
        {"min": min_years, "max": max_years},
        f"a date giving an age of {min_years}-{max_years} at load time",
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

REGISTRY: dict[str, TableRules] = {
    "crm_contacts": TableRules(
        table="crm_contacts",
        natural_key=("crm_id",),
        key_attributes=("first_name", "last_name", "email", "phone", "postcode", "birth_date"),
        event_time_column="updated_at",
        rules=(
            *required("crm_id"),
            unique_key("crm_id"),
            email_format("email"),
            phone_format("phone"),
            postcode_format("postcode", "country"),
            accepted("country", ISO_COUNTRIES, severity="warning", family="format"),
            age("birth_date"),
            timestamp("created_at"),
            timestamp("updated_at"),
            not_before("updated_at", "created_at"),
            completeness("email", 0.8),
            completeness("last_name", 0.95),
            agrees_across_sources(
                "email", "birth_date", (("pos_loyalty_members", "email", "birth_date"),)
            ),
        ),
    ),
    "web_events": TableRules(
        table="web_events",
        natural_key=("event_id",),
        key_attributes=("event_name", "session_id", "anonymous_id", "occurred_at"),
        event_time_column="occurred_at",
        freshness_sla_hours=6.0,
        rules=(
            *required("event_id", "event_name", "occurred_at"),
            unique_key("event_id"),
            accepted("event_name", EVENT_NAMES),
            timestamp("occurred_at"),
            Rule(
                "properties_price_range",
                "range",
                "warning",
                "json_numeric",
                ("properties",),
                {"path": "$.price", "min": 0.0, "max": None},
                "properties.price >= 0",
            ),
            Rule(
                "properties_quantity_range",
                "range",
                "warning",
                "json_numeric",
                ("properties",),
                {"path": "$.quantity", "min": 1.0, "max": None},
                "properties.quantity >= 1",
            ),
            completeness("anonymous_id", 0.8),
        ),
    ),
    "shop_orders": TableRules(
        table="shop_orders",
        natural_key=("order_id",),
        key_attributes=("customer_email", "ordered_at", "status", "currency"),
        event_time_column="ordered_at",
        rules=(
            *required("order_id", "ordered_at", "status", "currency"),
            unique_key("order_id"),
            timestamp("ordered_at"),
            accepted("status", ORDER_STATUSES),
            accepted("currency", ISO_CURRENCIES, family="format"),
            numeric("shipping_amount", min_value=0),
            email_format("customer_email"),
            phone_format("phone"),
            postcode_format("ship_postcode", "ship_country"),
            accepted("ship_country", ISO_COUNTRIES, severity="warning", family="format"),
            completeness("customer_email", 0.9),
            exists_in_sources("customer_email", EMAIL_TARGETS, max_unknown_share=0.3),
            exists_in_sources("crm_id", (("crm_contacts", "crm_id"),)),
            exists_in_sources("user_id", (("web_events", "user_id"),)),
        ),
    ),
    "shop_order_lines": TableRules(
        table="shop_order_lines",
        natural_key=("order_id", "line_number"),
        key_attributes=("product_id", "quantity", "unit_price"),
        rules=(
            *required("order_id", "line_number", "product_id", "quantity", "unit_price"),
            unique_key("order_id", "line_number"),
            numeric("line_number", min_value=1, integer=True),
            numeric("quantity", min_value=1, max_value=1000, integer=True),
            numeric("unit_price", min_value=0),
            numeric("discount", min_value=0),
            exists_in_sources("order_id", (("shop_orders", "order_id"),)),
            exists_in_sources("product_id", (("catalog_products", "product_id"),)),
        ),
    ),
    "pos_transactions": TableRules(
        table="pos_transactions",
        natural_key=("transaction_id", "line_number"),
        key_attributes=("store_id", "transacted_at", "product_id", "quantity", "unit_price"),
        event_time_column="transacted_at",
        rules=(
            *required(
                "transaction_id",
                "line_number",
                "transacted_at",
                "quantity",
                "unit_price",
                "currency",
            ),
            unique_key("transaction_id", "line_number"),
            numeric("line_number", min_value=1, integer=True),
            timestamp("transacted_at"),
            # Negative quantities are returns; zero is not a sale of anything.
            Rule(
                "quantity_range",
                "range",
                "blocking",
                "integer",
                ("quantity",),
                {"min": -1000, "max": 1000, "not_zero": True},
                "a non-zero integer between -1000 and 1000 (negative = return)",
            ),
            numeric("unit_price", min_value=0),
            numeric("discount", min_value=0),
            accepted("currency", ISO_CURRENCIES, family="format"),
            exists_in_sources("loyalty_id", (("pos_loyalty_members", "loyalty_id"),)),
        ),
    ),
    "pos_loyalty_members": TableRules(
        table="pos_loyalty_members",
        natural_key=("loyalty_id",),
        key_attributes=("first_name", "last_name", "email", "phone", "postcode", "birth_date"),
        event_time_column="enrolled_at",
        rules=(
            *required("loyalty_id"),
            unique_key("loyalty_id"),
            email_format("email"),
            phone_format("phone"),
            postcode_format("postcode", None),
            age("birth_date"),
            numeric("points", min_value=0, severity="warning", integer=True),
            timestamp("enrolled_at"),
            completeness("email", 0.7),
            agrees_across_sources(
                "email", "birth_date", (("crm_contacts", "email", "birth_date"),)
            ),
        ),
    ),
    "support_tickets": TableRules(
        table="support_tickets",
        natural_key=("ticket_id",),
        key_attributes=("customer_email", "channel", "topic", "opened_at"),
        event_time_column="opened_at",
        rules=(
            *required("ticket_id", "opened_at"),
            unique_key("ticket_id"),
            timestamp("opened_at"),
            timestamp("closed_at", severity="warning"),
            not_before("closed_at", "opened_at"),
            email_format("customer_email"),
            numeric("satisfaction_score", min_value=1, max_value=5, severity="warning"),
            exists_in_sources("customer_email", EMAIL_TARGETS, max_unknown_share=0.3),
        ),
    ),
    "consent_events": TableRules(
        table="consent_events",
        natural_key=("consent_event_id",),
        key_attributes=("identifier", "identifier_type", "purpose", "status", "occurred_at"),
        event_time_column="occurred_at",
        rules=(
            *required(
                "consent_event_id",
                "identifier",
                "identifier_type",
                "purpose",
                "status",
                "occurred_at",
            ),
            unique_key("consent_event_id"),
            accepted("identifier_type", IDENTIFIER_TYPES),
            Rule(
                "identifier_format",
                "format",
                "warning",
                "identifier_format",
                ("identifier", "identifier_type"),
                {"email_pattern": EMAIL_PATTERN, "min_digits": 7, "max_digits": 15},
                "an email identifier looks like an email, a phone one like a phone",
            ),
            accepted("purpose", CONSENT_PURPOSES),
            accepted("status", CONSENT_STATUSES),
            timestamp("occurred_at"),
        ),
    ),
    "catalog_products": TableRules(
        table="catalog_products",
        natural_key=("product_id",),
        key_attributes=("name", "category", "price", "currency"),
        freshness_sla_hours=24.0 * 7,
        rules=(
            *required("product_id", "price", "currency"),
            unique_key("product_id"),
            numeric("price", min_value=0),
            accepted("currency", ISO_CURRENCIES, family="format"),
            completeness("category", 0.95),
        ),
    ),
}


def table_rules(table: str) -> TableRules:
    """The rules of `table`, with a clear error for a table the registry does not know."""
    try:
        return REGISTRY[table]
    except KeyError:
        raise KeyError(
            f"no data-quality rules registered for raw table {table!r}; "
            f"known: {', '.join(sorted(REGISTRY))}"
        ) from None


def rule_counts() -> dict[str, dict[str, int]]:
    """{table: {blocking: n, warning: n}} — for docs and the report."""
    return {
        t.table: {
            "blocking": sum(r.severity == "blocking" for r in t.rules),
            "warning": sum(r.severity == "warning" for r in t.rules),
        }
        for t in REGISTRY.values()
    }


def rules_markdown() -> str:
    """The rule catalogue as a Markdown table, for docs and reviews."""
    lines = [
        "| table | rule | family | severity | columns | what it checks |",
        "|---|---|---|---|---|---|",
    ]
    for spec in REGISTRY.values():
        for rule in spec.rules:
            lines.append(
                f"| {spec.table} | `{rule.name}` | {rule.family} | {rule.severity} "
                f"| {', '.join(rule.columns)} | {rule.description} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m python_models.quality.rules > rules.md
    print(rules_markdown())

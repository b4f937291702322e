"""The raw contract: one `RawTable` per landing-file family, each declared once, here.

Columns are in file order. `required` names the columns a file must carry to load at all;
the `required(...)` rules say which values a row must fill (a row without one is quarantined).
Add a raw table by adding one entry, then run `customer360 contract sync` to
regenerate its dbt source yml.
"""

from __future__ import annotations

from python_models.contract.rules import (
    CONSENT_PURPOSES,
    CONSENT_STATUSES,
    EMAIL_PATTERN,
    EMAIL_TARGETS,
    EVENT_NAMES,
    IDENTIFIER_TYPES,
    ISO_COUNTRIES,
    ISO_CURRENCIES,
    ORDER_STATUSES,
    accepted,
    age,
    agrees_across_sources,
    completeness,
    date_value,
    email_format,
    exists_in_sources,
    not_before,
    numeric,
    phone_format,
    postcode_format,
    required,
    timestamp,
    unique_key,
)
from python_models.contract.spec import Column, RawTable, Rule

C = Column

RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        source="crm",
        table="crm_contacts",
        glob="crm/contacts_*.csv",
        format="csv",
        description="CRM contacts, one row per contact version as exported.",
        columns=(
            C("crm_id", description="The CRM's contact id.", identifies="crm_id"),
            C("first_name", pii=True, description="Given name as entered."),
            C("last_name", pii=True, description="Family name as entered."),
            C("email", pii=True, description="Email address as entered.", identifies="email"),
            C(
                "phone",
                pii=True,
                description="Phone number as entered, any format.",
                identifies="phone",
            ),
            C("street", pii=True, description="Street address."),
            C("city", pii=True, description="City."),
            C("postcode", pii=True, description="Postcode in its country's format."),
            C("country", description="ISO 3166-1 alpha-2 country code."),
            C(
                "birth_date",
                "date",
                pii=True,
                description="Date of birth as written (ISO, YYYYMMDD or D/M/Y; M/D/Y in the US).",
            ),
            C("created_at", "timestamp", description="When the contact was created."),
            C("updated_at", "timestamp", description="When this version was exported."),
        ),
        required=("crm_id", "updated_at"),
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
            date_value("birth_date", "country"),
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
    RawTable(
        source="web",
        table="web_events",
        glob="web/events_*.ndjson.gz",
        format="ndjson",
        description=(
            "Clickstream events from the web tracker (NDJSON); `properties` is a JSON string."
        ),
        columns=(
            C("event_id", description="The tracker's event id."),
            C("event_name", description="What happened (page_view, add_to_cart, purchase, ...)."),
            C("anonymous_id", description="The browser's cookie id.", identifies="anonymous_id"),
            C("user_id", description="The shop account id once logged in.", identifies="user_id"),
            C("session_id", description="The tracker's session id."),
            C("device", description="desktop, mobile or tablet."),
            C("channel", description="Marketing channel of the visit."),
            C("utm_source", description="utm_source of the landing URL."),
            C("utm_campaign", description="utm_campaign of the landing URL."),
            C("occurred_at", "timestamp", description="When the event happened."),
            C("properties", "json", description="Event properties (product_id, price, ...)."),
        ),
        required=("event_id", "event_name", "occurred_at"),
        natural_key=("event_id",),
        key_attributes=("event_name", "session_id", "anonymous_id", "occurred_at"),
        event_time_column="occurred_at",
        freshness_sla_hours=6.0,
        freshness_error_hours=48.0,
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
    RawTable(
        source="shop",
        table="shop_orders",
        glob="shop/orders_*.csv",
        format="csv",
        description="Online shop orders with the customer's details as entered at checkout.",
        columns=(
            C("order_id", description="The shop's order id.", identifies="order_id"),
            C(
                "user_id",
                description="The shop account id (empty for guest checkouts).",
                identifies="user_id",
            ),
            C(
                "crm_id",
                description="The CRM contact id, when the shop knows it.",
                identifies="crm_id",
            ),
            C(
                "customer_email",
                pii=True,
                description="Email entered at checkout.",
                identifies="email",
            ),
            C("first_name", pii=True, description="Given name entered at checkout."),
            C("last_name", pii=True, description="Family name entered at checkout."),
            C("phone", pii=True, description="Phone entered at checkout.", identifies="phone"),
            C("ship_street", pii=True, description="Shipping street address."),
            C("ship_city", pii=True, description="Shipping city."),
            C("ship_postcode", pii=True, description="Shipping postcode."),
            C("ship_country", description="Shipping country (ISO alpha-2)."),
            C("ordered_at", "timestamp", description="When the order was placed."),
            C("status", description="placed, completed, cancelled or returned."),
            C("currency", description="ISO 4217 currency of the order's amounts."),
            C("shipping_amount", "decimal", description="Shipping charged."),
        ),
        required=("order_id", "ordered_at", "status", "currency"),
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
    RawTable(
        source="shop",
        table="shop_customers",
        glob="shop/customers_*.csv",
        format="csv",
        description=(
            "Online shop accounts, one row per account version (the customers table of the "
            "shop database; the sample ships no file of them)."
        ),
        columns=(
            C(
                "user_id",
                description="The shop account id (the `user_id` orders and web events carry).",
                identifies="user_id",
            ),
            C("email", pii=True, description="The account's email.", identifies="email"),
            C("first_name", pii=True, description="Given name on the account."),
            C("last_name", pii=True, description="Family name on the account."),
            C("created_at", "timestamp", description="When the account was opened."),
            C("updated_at", "timestamp", description="When the account last changed."),
        ),
        required=("user_id",),
        natural_key=("user_id",),
        key_attributes=("email", "first_name", "last_name"),
        event_time_column="updated_at",
        freshness_checked=False,
        rules=(
            *required("user_id"),
            unique_key("user_id"),
            timestamp("created_at"),
            timestamp("updated_at"),
            email_format("email"),
            completeness("email", 0.9),
        ),
    ),
    RawTable(
        source="shop",
        table="shop_order_lines",
        glob="shop/order_lines_*.csv",
        format="csv",
        description="Online order lines; amounts in the order's currency.",
        columns=(
            C("order_id", description="The order the line belongs to.", identifies="order_id"),
            C("line_number", "integer", description="1-based line number within the order."),
            C("product_id", description="The catalogue's product id."),
            C("quantity", "integer", description="Units bought."),
            C("unit_price", "decimal", description="Price per unit."),
            C("discount", "decimal", description="Discount on the line."),
        ),
        required=("order_id", "line_number", "product_id", "quantity", "unit_price"),
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
    RawTable(
        source="pos",
        table="pos_transactions",
        glob="pos/transactions_*.csv",
        format="csv",
        description="In-store till lines; a negative quantity is a return.",
        columns=(
            C("transaction_id", description="The till's transaction id."),
            C("line_number", "integer", description="1-based line within the transaction."),
            C("store_id", description="The store."),
            C(
                "loyalty_id",
                description="The loyalty card shown, if any.",
                identifies="loyalty_id",
            ),
            C("transacted_at", "timestamp", description="When the till rang it up."),
            C("product_id", description="The catalogue's product id."),
            C("quantity", "integer", description="Units; negative for a return."),
            C("unit_price", "decimal", description="Price per unit."),
            C("discount", "decimal", description="Discount on the line."),
            C("currency", description="ISO 4217 currency."),
        ),
        required=(
            "transaction_id",
            "line_number",
            "store_id",
            "transacted_at",
            "product_id",
            "quantity",
            "unit_price",
            "currency",
        ),
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
    RawTable(
        source="pos",
        table="pos_loyalty_members",
        glob="pos/loyalty_members_*.csv",
        format="csv",
        description="Loyalty scheme members.",
        columns=(
            C("loyalty_id", description="The loyalty card id.", identifies="loyalty_id"),
            C("first_name", pii=True, description="Given name on the enrolment form."),
            C("last_name", pii=True, description="Family name on the enrolment form."),
            C("email", pii=True, description="Email on the enrolment form.", identifies="email"),
            C("phone", pii=True, description="Phone on the enrolment form.", identifies="phone"),
            C("postcode", pii=True, description="Postcode (the country is inferred from it)."),
            C(
                "birth_date",
                "date",
                pii=True,
                description="Date of birth as written (ISO, YYYYMMDD or D/M/Y).",
            ),
            C("tier", description="Loyalty tier."),
            C("points", "integer", description="Points balance."),
            C("enrolled_at", "timestamp", description="When the member enrolled."),
        ),
        required=("loyalty_id",),
        natural_key=("loyalty_id",),
        key_attributes=("first_name", "last_name", "email", "phone", "postcode", "birth_date"),
        event_time_column="enrolled_at",
        # people enrol a few times a month per store, so a member list's newest enrolment
        # is weeks old without the file being stale
        freshness_sla_hours=24.0 * 30,
        freshness_error_hours=24.0 * 90,
        rules=(
            *required("loyalty_id"),
            unique_key("loyalty_id"),
            email_format("email"),
            phone_format("phone"),
            postcode_format("postcode", None),
            date_value("birth_date"),
            age("birth_date"),
            numeric("points", min_value=0, severity="warning", integer=True),
            timestamp("enrolled_at"),
            completeness("email", 0.7),
            agrees_across_sources(
                "email", "birth_date", (("crm_contacts", "email", "birth_date"),)
            ),
        ),
    ),
    RawTable(
        source="support",
        table="support_tickets",
        glob="support/tickets_*.csv",
        format="csv",
        description="Customer-service tickets.",
        columns=(
            C("ticket_id", description="The help desk's ticket id.", identifies="ticket_id"),
            C(
                "customer_email",
                pii=True,
                description="Email the ticket came from.",
                identifies="email",
            ),
            C("channel", description="email, phone, chat, ..."),
            C("topic", description="The ticket's topic."),
            C("opened_at", "timestamp", description="When the ticket was opened."),
            C("closed_at", "timestamp", description="When it was closed (empty while open)."),
            C("satisfaction_score", "integer", description="CSAT score, 1-5."),
        ),
        required=("ticket_id", "opened_at"),
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
    RawTable(
        source="consent",
        table="consent_events",
        glob="consent/consent_events_*.csv",
        format="csv",
        description="Consent grants and withdrawals per identifier and purpose.",
        columns=(
            C("consent_event_id", description="The consent platform's event id."),
            C(
                "identifier",
                pii=True,
                description="The email address or phone number.",
                identifies="contact",
            ),
            C("identifier_type", description="email or phone."),
            C("purpose", description="email_marketing, personalization or analytics."),
            C("status", description="granted or withdrawn."),
            C("occurred_at", "timestamp", description="When the choice was made."),
            C("source", description="Where it was made (web_form, crm, pos, ...)."),
        ),
        required=(
            "consent_event_id",
            "identifier",
            "identifier_type",
            "purpose",
            "status",
            "occurred_at",
        ),
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
    RawTable(
        source="catalog",
        table="catalog_products",
        glob="catalog/products_*.csv",
        format="csv",
        description="Product catalogue; `tags` pipe-separated.",
        columns=(
            C("product_id", description="The catalogue's product id."),
            C("name", description="Product name."),
            C("category", description="Product category."),
            C("tags", description="Tags, pipe-separated."),
            C("price", "decimal", description="List price."),
            C("currency", description="ISO 4217 currency of the price."),
        ),
        required=("product_id",),
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
)

#: raw table name -> its contract, in contract order.
CONTRACT: dict[str, RawTable] = {t.table: t for t in RAW_TABLES}

#: the source systems, in contract order; one Dagster multi-asset each.
SOURCE_SYSTEMS: tuple[str, ...] = tuple(dict.fromkeys(t.source for t in RAW_TABLES))


def raw_table(table: str) -> RawTable:
    """The contract of raw.<table>, with a clear error for a table it does not declare."""
    try:
        return CONTRACT[table]
    except KeyError:
        raise KeyError(
            f"raw table {table!r} is not in the raw contract (python_models/contract/tables.py); "
            f"known: {', '.join(sorted(CONTRACT))}"
        ) from None


def tables_for(source: str | None = None) -> list[RawTable]:
    """The raw tables of one source system (all of them when `source` is None)."""
    if source is None:
        return list(CONTRACT.values())
    if source not in SOURCE_SYSTEMS:
        raise ValueError(f"unknown source system {source!r}; known: {', '.join(SOURCE_SYSTEMS)}")
    return [t for t in CONTRACT.values() if t.source == source]


def _check_cross_references() -> None:
    """Rules that look into other raw tables name tables and columns the contract declares."""
    for spec in RAW_TABLES:
        for rule in spec.rules:
            for target, *columns in rule.params.get("targets", ()):
                unknown = set(columns) - set(raw_table(target).column_names)
                if unknown:
                    raise ValueError(f"{spec.table}.{rule.name}: {target} has no {unknown}")


_check_cross_references()

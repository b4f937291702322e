"""The source registry: every raw table the extract loads, as declared in docs/architecture.md.

One `RawTable` per landing-file family says which source system sends it, where its files land
(a glob under the landing dir), how to read them, which columns the contract promises (in file
order), which of those a file must carry to be loadable, and the natural key staging dedupes on.
`SOURCES` maps raw table name → `RawTable` and is the single registry: the extract assets, the
quality package (quarantine schemas) and the dbt sources all read it. Keep the names `SOURCES`,
`RawTable` and the field names stable; add a table by adding one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["csv", "ndjson", "parquet"]


@dataclass(frozen=True)
class RawTable:
    """One raw table and the landing files that feed it.

    Attributes:
        source: the source system (crm, web, shop, pos, support, consent, catalog); one Dagster
            multi-asset per source system.
        table: the table name inside schema `raw` (and `quarantine`), e.g. ``crm_contacts``.
        glob: where its files land, relative to the landing dir, e.g. ``crm/contacts_*.csv``.
        format: ``csv`` (header row, comma-delimited, UTF-8, optionally ``.gz``), ``ndjson``
            (one JSON object per line, optionally ``.gz``) or ``parquet``.
        columns: the contract's columns in file order; every raw table has exactly these (as
            VARCHAR) plus the `_` metadata columns.
        required: columns a file must contain to be loaded; a file without one is rejected
            whole. Other contract columns may be absent (loaded as NULL and reported).
        natural_key: the columns that identify one record; staging keeps the latest load.
        description: what the table holds, for the Dagster UI and the data dictionary.
    """

    source: str
    table: str
    glob: str
    format: FileFormat
    columns: tuple[str, ...]
    required: tuple[str, ...]
    natural_key: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        unknown = [c for c in (*self.required, *self.natural_key) if c not in self.columns]
        if unknown:
            raise ValueError(f"raw.{self.table}: {unknown} are not among its columns")
        missing_keys = [c for c in self.natural_key if c not in self.required]
        if missing_keys:
            raise ValueError(f"raw.{self.table}: natural key {missing_keys} must be required")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"raw.{self.table}: duplicate column names")

    @property
    def qualified_name(self) -> str:
        """``raw.<table>``."""
        return f"raw.{self.table}"

    @property
    def optional(self) -> tuple[str, ...]:
        """Contract columns a file may leave out."""
        return tuple(c for c in self.columns if c not in self.required)


_REGISTRY: tuple[RawTable, ...] = (
    RawTable(
        source="crm",
        table="crm_contacts",
        glob="crm/contacts_*.csv",
        format="csv",
        columns=(
            "crm_id", "first_name", "last_name", "email", "phone", "street", "city",
            "postcode", "country", "birth_date", "created_at", "updated_at",
        ),
        required=("crm_id", "updated_at"),
        natural_key=("crm_id",),
        description="CRM contacts, one row per contact version exported.",
    ),
    RawTable(
        source="web",
        table="web_events",
        glob="web/events_*.ndjson.gz",
        format="ndjson",
        columns=(
            "event_id", "event_name", "anonymous_id", "user_id", "session_id", "device",
            "channel", "utm_source", "utm_campaign", "occurred_at", "properties",
        ),
        required=("event_id", "event_name", "occurred_at"),
        natural_key=("event_id",),
        description="Web/app clickstream events; `properties` stays a JSON string.",
    ),
    RawTable(
        source="shop",
        table="shop_orders",
        glob="shop/orders_*.csv",
        format="csv",
        columns=(
            "order_id", "user_id", "crm_id", "customer_email", "first_name", "last_name",
            "phone", "ship_street", "ship_city", "ship_postcode", "ship_country", "ordered_at",
            "status", "currency", "shipping_amount",
        ),
        required=("order_id", "ordered_at", "status", "currency"),
        natural_key=("order_id",),
        description="Online shop order headers.",
    ),
    RawTable(
        source="shop",
        table="shop_order_lines",
        glob="shop/order_lines_*.csv",
        format="csv",
        columns=("order_id", "line_number", "product_id", "quantity", "unit_price", "discount"),
        required=("order_id", "line_number", "product_id", "quantity", "unit_price"),
        natural_key=("order_id", "line_number"),
        description="Online shop order lines.",
    ),
    RawTable(
        source="pos",
        table="pos_transactions",
        glob="pos/transactions_*.csv",
        format="csv",
        columns=(
            "transaction_id", "line_number", "store_id", "loyalty_id", "transacted_at",
            "product_id", "quantity", "unit_price", "discount", "currency",
        ),
        required=(
            "transaction_id", "line_number", "store_id", "transacted_at", "product_id",
            "quantity", "unit_price", "currency",
        ),
        natural_key=("transaction_id", "line_number"),
        description="In-store till transactions, one row per line; negative quantity = return.",
    ),
    RawTable(
        source="pos",
        table="pos_loyalty_members",
        glob="pos/loyalty_members_*.csv",
        format="csv",
        columns=(
            "loyalty_id", "first_name", "last_name", "email", "phone", "postcode",
            "birth_date", "tier", "points", "enrolled_at",
        ),
        required=("loyalty_id",),
        natural_key=("loyalty_id",),
        description="Loyalty scheme members.",
    ),
    RawTable(
        source="support",
        table="support_tickets",
        glob="support/tickets_*.csv",
        format="csv",
        columns=(
            "ticket_id", "customer_email", "channel", "topic", "opened_at", "closed_at",
            "satisfaction_score",
        ),
        required=("ticket_id", "opened_at"),
        natural_key=("ticket_id",),
        description="Customer support tickets.",
    ),
    RawTable(
        source="consent",
        table="consent_events",
        glob="consent/consent_events_*.csv",
        format="csv",
        columns=(
            "consent_event_id", "identifier", "identifier_type", "purpose", "status",
            "occurred_at", "source",
        ),
        required=(
            "consent_event_id", "identifier", "identifier_type", "purpose", "status",
            "occurred_at",
        ),
        natural_key=("consent_event_id",),
        description="Consent grants and withdrawals per identifier and purpose.",
    ),
    RawTable(
        source="catalog",
        table="catalog_products",
        glob="catalog/products_*.csv",
        format="csv",
        columns=("product_id", "name", "category", "tags", "price", "currency"),
        required=("product_id",),
        natural_key=("product_id",),
        description="Product catalogue; `tags` pipe-separated.",
    ),
)  # fmt: skip

#: raw table name → its registry entry, in contract order.
SOURCES: dict[str, RawTable] = {t.table: t for t in _REGISTRY}

#: the source systems, in contract order; one Dagster multi-asset each.
SOURCE_SYSTEMS: tuple[str, ...] = tuple(dict.fromkeys(t.source for t in _REGISTRY))


def tables_for(source: str | None = None) -> list[RawTable]:
    """The raw tables of one source system (all of them when `source` is None)."""
    if source is None:
        return list(SOURCES.values())
    if source not in SOURCE_SYSTEMS:
        raise ValueError(f"unknown source system {source!r}; known: {', '.join(SOURCE_SYSTEMS)}")
    return [t for t in SOURCES.values() if t.source == source]

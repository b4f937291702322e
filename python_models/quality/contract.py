"""Raw-table columns, per the contract in docs/architecture.md.

The extract registry (`python_models.extract.sources.SOURCES`) is the owner of these column
lists; this module reads it when it can and falls back to the contract's lists, so the quality
package can create `quarantine.<table>` before the first load has created `raw.<table>`.
"""

from __future__ import annotations

from typing import Any

CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "crm_contacts": (
        "crm_id", "first_name", "last_name", "email", "phone", "street", "city", "postcode",
        "country", "birth_date", "created_at", "updated_at",
    ),
    "web_events": (
        "event_id", "event_name", "anonymous_id", "user_id", "session_id", "device", "channel",
        "utm_source", "utm_campaign", "occurred_at", "properties",
    ),
    "shop_orders": (
        "order_id", "user_id", "crm_id", "customer_email", "first_name", "last_name", "phone",
        "ship_street", "ship_city", "ship_postcode", "ship_country", "ordered_at", "status",
        "currency", "shipping_amount",
    ),
    "shop_order_lines": ("order_id", "line_number", "product_id", "quantity", "unit_price",
                         "discount"),
    "pos_transactions": (
        "transaction_id", "line_number", "store_id", "loyalty_id", "transacted_at",
        "product_id", "quantity", "unit_price", "discount", "currency",
    ),
    "pos_loyalty_members": (
        "loyalty_id", "first_name", "last_name", "email", "phone", "postcode", "birth_date",
        "tier", "points", "enrolled_at",
    ),
    "support_tickets": (
        "ticket_id", "customer_email", "channel", "topic", "opened_at", "closed_at",
        "satisfaction_score",
    ),
    "consent_events": (
        "consent_event_id", "identifier", "identifier_type", "purpose", "status", "occurred_at",
        "source",
    ),
    "catalog_products": ("product_id", "name", "category", "tags", "price", "currency"),
}  # fmt: skip

# (name, DuckDB type) of the metadata columns every raw table carries after its file columns.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
    ("_extra", "JSON"),
)
QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("failed_rules", "VARCHAR[]"),
    ("quarantined_at", "TIMESTAMP"),
    ("released_at", "TIMESTAMP"),
)


def _columns_from_source(source: Any) -> tuple[str, ...] | None:
    for attr in ("columns", "expected_columns", "file_columns"):
        value = getattr(source, attr, None)
        if value is None and isinstance(source, dict):
            value = source.get(attr)
        if value:
            return tuple(c if isinstance(c, str) else c[0] for c in value)
    return None


def _registry_columns(table: str) -> tuple[str, ...] | None:
    try:
        from python_models.extract.sources import SOURCES  # type: ignore[import-not-found]
    except Exception:  # the extract package is written in parallel; the contract is enough
        return None
    items = SOURCES.values() if isinstance(SOURCES, dict) else SOURCES
    for source in items:
        name = getattr(source, "table", None) or getattr(source, "raw_table", None)
        if name is None and isinstance(source, dict):
            name = source.get("table") or source.get("raw_table")
        if isinstance(SOURCES, dict) and name is None:
            name = next((k for k, v in SOURCES.items() if v is source), None)
        if name in (table, f"raw.{table}"):
            return _columns_from_source(source)
    return None


def file_columns(table: str) -> tuple[str, ...]:
    """The file columns of raw.<table>, in file order (extract registry first, then contract)."""
    columns = _registry_columns(table) or CONTRACT_COLUMNS.get(table)
    if not columns:
        raise KeyError(
            f"unknown raw table {table!r}: not in the extract registry nor the contract "
            f"({', '.join(sorted(CONTRACT_COLUMNS))})"
        )
    return columns

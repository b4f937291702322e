"""Deliberately invalid rows, so the quality gates have something real to catch.

About `invalid_rate` of each table's rows break one rule: a malformed e-mail, a negative or
non-numeric amount, a date more than a year after `as_of`, an unknown event name or status,
or (CSV only) a line with the wrong number of fields. Every injected fault is reported, so
tests and the quality stage can measure recall against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_models.sample_data.config import SECONDS_PER_DAY
from python_models.sample_data.sources import format_timestamps

BAD_EMAILS = (
    "not-an-email",
    "missing-at.example.com",
    "double@@example.com",
    "trailing@",
    "spaces in@example.com",
    "@no-local-part.com",
)
NON_NUMERIC_AMOUNTS = ("N/A", "12,50 EUR", "abc", "£19.99", "--")
UNKNOWN_STATUSES = ("shipped?", "COMPLETE!", "pending_review", "unknown")
UNKNOWN_CONSENT_STATUSES = ("maybe", "revoked?", "opt")
UNKNOWN_EVENT_NAMES = ("page_veiw", "add-to-cart", "clicked", "purchase_complete")

BROKEN_LINE = "broken_line"


@dataclass(frozen=True)
class Rule:
    """One way to break a row: `kind` applied to `column`."""

    name: str
    kind: str  # bad_email | negative | non_numeric | future_date | unknown_value
    column: str
    choices: tuple[str, ...] = ()


# Which rules each table can break. Broken CSV lines are added for every CSV table.
RULES: dict[str, tuple[Rule, ...]] = {
    "crm_contacts": (
        Rule("bad_email", "bad_email", "email"),
        Rule("future_date", "future_date", "created_at"),
    ),
    "pos_loyalty_members": (
        Rule("bad_email", "bad_email", "email"),
        Rule("negative_amount", "negative", "points"),
        Rule("future_date", "future_date", "enrolled_at"),
    ),
    "shop_orders": (
        Rule("bad_email", "bad_email", "customer_email"),
        Rule("negative_amount", "negative", "shipping_amount"),
        Rule("non_numeric_amount", "non_numeric", "shipping_amount"),
        Rule("future_date", "future_date", "ordered_at"),
        Rule("unknown_status", "unknown_value", "status", UNKNOWN_STATUSES),
    ),
    "shop_order_lines": (
        Rule("negative_quantity", "negative", "quantity"),
        Rule("negative_amount", "negative", "unit_price"),
        Rule("non_numeric_amount", "non_numeric", "unit_price"),
    ),
    "pos_transactions": (
        Rule("negative_amount", "negative", "unit_price"),
        Rule("non_numeric_amount", "non_numeric", "unit_price"),
        Rule("future_date", "future_date", "transacted_at"),
    ),
    "support_tickets": (
        Rule("bad_email", "bad_email", "customer_email"),
        Rule("future_date", "future_date", "opened_at"),
    ),
    "consent_events": (
        Rule("unknown_status", "unknown_value", "status", UNKNOWN_CONSENT_STATUSES),
        Rule("future_date", "future_date", "occurred_at"),
    ),
    "catalog_products": (
        Rule("negative_amount", "negative", "price"),
        Rule("non_numeric_amount", "non_numeric", "price"),
    ),
    "web_events": (
        Rule("unknown_event_name", "unknown_value", "event_name", UNKNOWN_EVENT_NAMES),
        Rule("future_date", "future_date", "occurred_at_epoch"),
        Rule("negative_amount", "negative", "price"),
    ),
}


def _replacement(
    rule: Rule, values: pa.Array, rng: np.random.Generator, as_of_epoch: int
) -> pa.Array:
    n = len(values)
    if rule.kind == "bad_email":
        return pa.array(np.array(BAD_EMAILS, dtype=object)[rng.integers(0, len(BAD_EMAILS), n)])
    if rule.kind == "non_numeric":
        pool = np.array(NON_NUMERIC_AMOUNTS, dtype=object)
        return pa.array(pool[rng.integers(0, len(pool), n)])
    if rule.kind == "unknown_value":
        return pa.array(np.array(rule.choices, dtype=object)[rng.integers(0, len(rule.choices), n)])
    if rule.kind == "negative":
        if pa.types.is_string(values.type):
            # '0' or '0.00' would stay valid when negated, so use at least one unit.
            numeric = pc.cast(values, pa.float64())
            fixed = pc.max_element_wise(pc.abs(numeric), pa.scalar(1.0))
            text = pc.cast(pc.round(fixed, 2), pa.string())
            return pc.binary_join_element_wise("-", text, "")
        return pc.negate(pc.max_element_wise(pc.abs(values), pa.scalar(1, values.type)))
    if rule.kind == "future_date":
        seconds = as_of_epoch + rng.integers(400, 1500, n) * SECONDS_PER_DAY
        if pa.types.is_integer(values.type):
            return pa.array(seconds, values.type)
        return format_timestamps(seconds)
    raise ValueError(f"unknown invalid-row kind {rule.kind!r}")


def inject_invalid_rows(
    table_name: str,
    table: pa.Table,
    rate: float,
    rng: np.random.Generator,
    as_of_epoch: int,
    csv: bool = True,
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Break about `rate` of rows; returns the table and `(row_index, rule)` for each.

    Rows whose rule is `broken_line` are left intact here; the CSV writer renders them with
    an extra or a missing field.
    """
    rules = RULES.get(table_name, ())
    n = table.num_rows
    if rate <= 0 or n == 0 or not rules:
        return table, []
    chosen = np.flatnonzero(rng.random(n) < rate)
    n_kinds = len(rules) + (1 if csv else 0)
    kind_of = rng.integers(0, n_kinds, len(chosen))
    faults: list[tuple[int, str]] = []
    for k, rule in enumerate(rules):
        rows = chosen[kind_of == k]
        column = table.column(rule.column).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if len(rows):
            # Only rows with a value can be broken this way (a NULL price stays NULL).
            rows = rows[np.asarray(column.take(pa.array(rows)).is_valid())]
        if not len(rows):
            continue
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        replacement = _replacement(rule, column.take(pa.array(rows)), rng, as_of_epoch)
        new_column = pc.replace_with_mask(column, pa.array(mask), replacement.cast(column.type))
        table = table.set_column(table.schema.get_field_index(rule.column), rule.column, new_column)
        faults.extend((int(r), rule.name) for r in rows)
    if csv:
        faults.extend((int(r), BROKEN_LINE) for r in chosen[kind_of == len(rules)])
    faults.sort()
    return table, faults


def break_csv_lines(csv_bytes: bytes, data_rows: list[int], rng: np.random.Generator) -> bytes:
    """Give the given 0-based data rows the wrong number of fields (header is line 0)."""
    if not data_rows:
        return csv_bytes
    lines = csv_bytes.split(b"\n")
    for row in data_rows:
        line = lines[row + 1]
        if rng.random() < 0.5 and not line.endswith(b'"') and b"," in line:
            lines[row + 1] = line.rsplit(b",", 1)[0]
        else:
            lines[row + 1] = line + b",unexpected extra field"
    return b"\n".join(lines)

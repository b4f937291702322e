"""What each email tool imports: column names, their order, and the limits of each value.

A destination is data, not code: the export SQL reads these specs to name columns, to
truncate or drop values that break a limit (and count them), and to split files that are
too large. Sources for the rules, as each tool documents its CSV import:

- Mailchimp: `Email Address` is the only required column; text fields at most 255 bytes;
  tags at most 100 characters, several tags comma-separated in one `Tags` cell, a tag that
  contains a comma in double quotes; dates YYYY-MM-DD, country a 2-letter code, phone E.164.
- Klaviyo: the first column is `Email`, then any properties; an optional
  `Email Marketing Consent` column; files at most 50 MB (split larger ones); no duplicate rows.
- Braze: `external_id` first, then default attributes (`first_name`, `last_name`, `email`,
  `email_subscribe`, `phone`, `country`) and custom attributes; strings at most 255 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "phone", "country", "date"]


@dataclass(frozen=True)
class MergeField:
    """A field an audience may ask for: where it comes from and whose consent it needs.

    `personalisation` fields come from profiling or a model, so they are left empty for a
    customer without personalization consent. `model_table` names the Python-written table
    the field needs; when it is absent the field is empty and the run says so.
    `columns` is how many values the field expands to (three recommended products).
    """

    name: str
    kind: FieldKind
    personalisation: bool
    model_table: str | None = None
    columns: int = 1


MERGE_FIELDS: dict[str, MergeField] = {
    f.name: f
    for f in (
        MergeField("first_name", "text", personalisation=False),
        MergeField("last_name", "text", personalisation=False),
        MergeField("phone", "phone", personalisation=False),
        MergeField("country", "country", personalisation=False),
        MergeField("rfm_segment", "text", personalisation=True),
        MergeField("last_order_date", "date", personalisation=True),
        MergeField(
            "churn_risk_band",
            "text",
            personalisation=True,
            model_table="models.customer_churn_scores",
        ),
        MergeField(
            "cluster_label", "text", personalisation=True, model_table="models.customer_clusters"
        ),
        MergeField(
            "recommended_products",
            "text",
            personalisation=True,
            model_table="models.customer_recommendations",
            columns=3,
        ),
    )
}


@dataclass(frozen=True)
class Destination:
    """How one tool wants its CSV: header names, fixed columns and limits."""

    name: str
    key_column: str  # the column the tool identifies a contact by; first in the file
    key_source: Literal["email", "customer_key"]
    email_column: str | None  # where the address goes when the key is not the email
    headers: dict[str, tuple[str, ...]]  # merge field -> header(s)
    constant_columns: tuple[tuple[str, str], ...] = ()  # (header, value) after the key
    tags_column: str | None = None
    text_max_bytes: int | None = None
    text_max_chars: int | None = None
    tag_max_chars: int | None = None
    max_file_bytes: int | None = None

    def field_headers(self, merge_field: str) -> tuple[str, ...]:
        return self.headers[merge_field]


_PRODUCT_HEADERS_TITLE = ("Product 1", "Product 2", "Product 3")
_PRODUCT_HEADERS_SNAKE = tuple(f"recommended_product_{i}" for i in (1, 2, 3))


def _custom_properties(contact: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Headers for a tool whose custom properties are the merge fields' own names."""
    headers = {name: (header,) for name, header in contact.items()}
    for name in ("rfm_segment", "last_order_date", "churn_risk_band", "cluster_label"):
        headers[name] = (name,)
    headers["recommended_products"] = _PRODUCT_HEADERS_SNAKE
    return headers


DESTINATIONS: dict[str, Destination] = {
    "mailchimp": Destination(
        name="mailchimp",
        key_column="Email Address",
        key_source="email",
        email_column=None,
        headers={
            "first_name": ("First Name",),
            "last_name": ("Last Name",),
            "phone": ("Phone Number",),
            "country": ("Country",),
            "rfm_segment": ("RFM Segment",),
            "last_order_date": ("Last Order Date",),
            "churn_risk_band": ("Churn Risk",),
            "cluster_label": ("Cluster",),
            "recommended_products": _PRODUCT_HEADERS_TITLE,
        },
        tags_column="Tags",
        text_max_bytes=255,
        tag_max_chars=100,
    ),
    "klaviyo": Destination(
        name="klaviyo",
        key_column="Email",
        key_source="email",
        email_column=None,
        headers=_custom_properties(
            {
                "first_name": "First Name",
                "last_name": "Last Name",
                "phone": "Phone Number",
                "country": "Country",
            }
        ),
        constant_columns=(("Email Marketing Consent", "SUBSCRIBED"),),
        max_file_bytes=50 * 1024 * 1024,
    ),
    "braze": Destination(
        name="braze",
        key_column="external_id",
        key_source="customer_key",
        email_column="email",
        headers=_custom_properties(
            {name: name for name in ("first_name", "last_name", "phone", "country")}
        ),
        constant_columns=(("email_subscribe", "opted_in"),),
        text_max_chars=255,
    ),
}

"""A tiny warehouse with just the tables an audience export reads, built from Python rows.

Tests describe customers as dicts; `build_marts` writes `marts.dim_customers`,
`marts.segment_membership`, `marts.customer_consent`, `marts.dim_products` and
`reference.email_suppressions` as the dbt project would have them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from python_models.activation.audiences import Audience

AS_OF = datetime.fromisoformat("2026-11-01T00:00:00+00:00")


@dataclass
class Person:
    customer_key: str
    email: str | None
    given_name: str | None = "Ann"
    family_name: str | None = "Lee"
    phone: str | None = "+447700900001"
    country: str | None = "GB"
    segments: tuple[str, ...] = ("vips",)
    email_consent: str = "granted"  # granted | withdrawn | no_consent
    granted_email: str | None = "same"  # "same": the email itself holds the grant
    personalisation: bool = True
    rfm_segment: str | None = "Champions"
    cluster_label: str | None = "big spenders"
    extra: dict[str, Any] = field(default_factory=dict)


def build_marts(
    con: duckdb.DuckDBPyConnection,
    people: list[Person],
    suppressions: list[tuple[str, str]] = (),
    recommendations: list[tuple[str, int, str]] | None = None,
) -> None:
    for schema in ("marts", "reference", "models"):
        con.execute(f"create schema if not exists {schema}")
    customers = pd.DataFrame(
        {
            "customer_key": [p.customer_key for p in people],
            "given_name": [p.given_name for p in people],
            "family_name": [p.family_name for p in people],
            "primary_email": [p.email for p in people],
            "phone": [p.phone for p in people],
            "country": [p.country for p in people],
            "rfm_segment": [p.rfm_segment for p in people],
            "cluster_label": [p.cluster_label for p in people],
            "last_order_at": [pd.Timestamp("2026-10-20 10:00:00")] * len(people),
        }
    )
    con.register("_customers", customers)
    con.execute("create or replace table marts.dim_customers as select * from _customers")
    con.unregister("_customers")
    membership = [(p.customer_key, s) for p in people for s in p.segments]
    con.execute(
        "create or replace table marts.segment_membership (customer_key varchar, segment varchar)"
    )
    if membership:
        con.executemany("insert into marts.segment_membership values (?, ?)", membership)
    con.execute("""create or replace table marts.customer_consent (
        customer_key varchar, purpose varchar, consent_state varchar, is_granted boolean,
        granted_email varchar)""")
    rows = []
    for p in people:
        granted_email = p.email if p.granted_email == "same" else p.granted_email
        rows.append(
            (
                p.customer_key,
                "email_marketing",
                p.email_consent,
                p.email_consent == "granted",
                granted_email if p.email_consent == "granted" else None,
            )
        )
        rows.append(
            (
                p.customer_key,
                "personalization",
                "granted" if p.personalisation else "no_consent",
                p.personalisation,
                None,
            )
        )
    con.executemany("insert into marts.customer_consent values (?, ?, ?, ?, ?)", rows)
    con.execute("""create or replace table reference.email_suppressions (
        email varchar, reason varchar, suppressed_at timestamp, source varchar)""")
    if suppressions:
        con.executemany(
            "insert into reference.email_suppressions values (?, ?, null, 'test')",
            list(suppressions),
        )
    con.execute("""create or replace table marts.dim_products as
        select * from (values ('p1', 'Walking boots'), ('p2', 'Rain jacket'),
                              ('p3', 'Wool socks'), ('p4', 'Trail map'))
            as t(product_id, product_name)""")
    if recommendations is not None:
        con.execute(
            "create or replace table models.customer_recommendations "
            "(customer_key varchar, rank integer, product_id varchar)"
        )
        if recommendations:
            con.executemany(
                "insert into models.customer_recommendations values (?, ?, ?)", recommendations
            )


def audience(**overrides: Any) -> Audience:
    spec: dict[str, Any] = {
        "name": "vip",
        "description": "VIPs",
        "owner": "crm-team",
        "segments": ["vips"],
        "destination": "mailchimp",
        "fields": ["first_name", "last_name", "rfm_segment"],
        "tags": ["vip"],
    }
    spec.update(overrides)
    return Audience.model_validate(spec)

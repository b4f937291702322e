"""Tiny warehouses in the shapes the prediction features read (python_models/predictions)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from python_models.predictions.features import FeatureSources

SOURCES = FeatureSources.in_schema("t")

DDL = (
    "identity_graph (source_system varchar, source_record_id varchar, customer_key varchar)",
    "orders (order_id varchar, customer_key varchar, channel varchar, ordered_at timestamp, "
    "status varchar, is_return boolean, net_amount_reporting decimal(18, 2))",
    "order_lines (order_id varchar, channel varchar, product_id varchar, "
    "net_amount_reporting decimal(18, 2))",
    "products (product_id varchar, category varchar)",
    "events (customer_key varchar, session_id varchar, event_name varchar, occurred_at timestamp)",
    "tickets (ticket_id varchar, opened_at timestamp, satisfaction_score integer)",
    "consent_events (identifier_type varchar, identifier_match_key varchar, purpose varchar, "
    "is_granted boolean, occurred_at timestamp)",
    "person_records (customer_key varchar, email varchar)",
)


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists t")
    for ddl in DDL:
        con.execute(f"create or replace table t.{ddl}")


def add_customer(con: duckdb.DuckDBPyConnection, key: str, email: str) -> None:
    con.execute("insert into t.identity_graph values ('crm', ?, ?)", [f"crm-{key}", key])
    con.execute("insert into t.person_records values (?, ?)", [key, email])


def add_order(
    con: duckdb.DuckDBPyConnection,
    order_id: str,
    key: str,
    at: datetime,
    amount: float,
    *,
    status: str = "completed",
    is_return: bool = False,
    product_id: str = "p1",
) -> None:
    con.execute(
        "insert into t.orders values (?, ?, 'online', ?, ?, ?, ?)",
        [order_id, key, at, status, is_return, amount],
    )
    con.execute(
        "insert into t.order_lines values (?, 'online', ?, ?)", [order_id, product_id, amount]
    )


def add_event(
    con: duckdb.DuckDBPyConnection, key: str, session: str, name: str, at: datetime
) -> None:
    con.execute("insert into t.events values (?, ?, ?, ?)", [key, session, name, at])


def add_ticket(
    con: duckdb.DuckDBPyConnection, ticket_id: str, key: str, at: datetime, score: int
) -> None:
    con.execute("insert into t.identity_graph values ('support', ?, ?)", [ticket_id, key])
    con.execute("insert into t.tickets values (?, ?, ?)", [ticket_id, at, score])


def add_consent(con: duckdb.DuckDBPyConnection, email: str, granted: bool, at: datetime) -> None:
    con.execute(
        "insert into t.consent_events values ('email', ?, 'email_marketing', ?, ?)",
        [email, granted, at],
    )

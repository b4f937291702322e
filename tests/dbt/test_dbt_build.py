"""`dbt build` of the whole dbt project on a throwaway warehouse, and what its marts hold.

The warehouse is made in a temporary directory: raw tables from the committed sample
(`seeds/sample`, or a small hand-made landing directory while no sample is committed), empty
quarantine tables, and a PROVISIONAL identity graph (`provisional_identity_graph_fixture`:
one customer per normalised email, plus deterministic id links) standing in for the
identity asset so the marts can be built and checked on their own.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample"

# landing glob → raw table, per docs/architecture.md
LANDING_FILES: dict[str, str] = {
    "crm/contacts_*.csv": "crm_contacts",
    "web/events_*.ndjson.gz": "web_events",
    "shop/orders_*.csv": "shop_orders",
    "shop/order_lines_*.csv": "shop_order_lines",
    "pos/transactions_*.csv": "pos_transactions",
    "pos/loyalty_members_*.csv": "pos_loyalty_members",
    "support/tickets_*.csv": "support_tickets",
    "consent/consent_events_*.csv": "consent_events",
    "catalog/products_*.csv": "catalog_products",
}
RAW_COLUMNS: dict[str, list[str]] = {
    "crm_contacts": [
        "crm_id", "first_name", "last_name", "email", "phone", "street", "city", "postcode",
        "country", "birth_date", "created_at", "updated_at",
    ],
    "web_events": [
        "event_id", "event_name", "anonymous_id", "user_id", "session_id", "device", "channel",
        "utm_source", "utm_campaign", "occurred_at", "properties",
    ],
    "shop_orders": [
        "order_id", "user_id", "crm_id", "customer_email", "first_name", "last_name", "phone",
        "ship_street", "ship_city", "ship_postcode", "ship_country", "ordered_at", "status",
        "currency", "shipping_amount",
    ],
    "shop_order_lines": [
        "order_id", "line_number", "product_id", "quantity", "unit_price", "discount",
    ],
    "pos_transactions": [
        "transaction_id", "line_number", "store_id", "loyalty_id", "transacted_at",
        "product_id", "quantity", "unit_price", "discount", "currency",
    ],
    "pos_loyalty_members": [
        "loyalty_id", "first_name", "last_name", "email", "phone", "postcode", "birth_date",
        "tier", "points", "enrolled_at",
    ],
    "support_tickets": [
        "ticket_id", "customer_email", "channel", "topic", "opened_at", "closed_at",
        "satisfaction_score",
    ],
    "consent_events": [
        "consent_event_id", "identifier", "identifier_type", "purpose", "status",
        "occurred_at", "source",
    ],
    "catalog_products": ["product_id", "name", "category", "tags", "price", "currency"],
}  # fmt: skip


# --------------------------------------------------------------------------------------
# A small hand-made landing directory (used only while no sample is committed)
# --------------------------------------------------------------------------------------

HAND_MADE_ROWS: dict[str, list[dict[str, object]]] = {
    "crm_contacts": [
        {"crm_id": "CRM-1", "first_name": " Ame\u0301lie ", "last_name": "Durand",
         "email": " Amelie.Durand@Example.com ", "phone": "+44 (0)20 7946 0958",
         "street": "1 High St", "city": "London", "postcode": "sw1a 1aa", "country": "UK",
         "birth_date": "1985-04-12", "created_at": "2024-01-01T10:00:00Z",
         "updated_at": "2025-06-01T09:00:00+02:00"},
        {"crm_id": "CRM-2", "first_name": "Bob", "last_name": "Smith",
         "email": "bob@example.com", "phone": "020 7946 0000", "street": "2 Low Rd",
         "city": "Leeds", "postcode": "LS1 1AA", "country": "GB", "birth_date": "not a date",
         "created_at": "2024-02-01T10:00:00Z", "updated_at": "2024-02-01T10:00:00Z"},
        # quarantined by the fixture: must not reach staging
        {"crm_id": "CRM-BAD", "first_name": "X", "last_name": "Y", "email": "nope",
         "phone": "", "street": "", "city": "", "postcode": "", "country": "",
         "birth_date": "", "created_at": "garbage", "updated_at": "garbage"},
    ],
    "pos_loyalty_members": [
        {"loyalty_id": "L-1", "first_name": "Amelie", "last_name": "Durand-Smith",
         "email": "amelie.durand@example.com", "phone": "07700 900123", "postcode": "SW1A 1AA",
         "birth_date": "1985-04-12", "tier": "Gold", "points": "120",
         "enrolled_at": "2024-03-01T12:00:00Z"},
        {"loyalty_id": "L-2", "first_name": "Cara", "last_name": "Jones",
         "email": "cara@example.com", "phone": "0044 7700 900456", "postcode": "M1 1AA",
         "birth_date": "1990-01-01", "tier": "silver", "points": "5",
         "enrolled_at": "2024-05-01T12:00:00Z"},
    ],
    "shop_orders": [
        {"order_id": "O-1", "user_id": "U-1", "crm_id": "CRM-1",
         "customer_email": "AMELIE.DURAND@example.com", "first_name": "Amelie",
         "last_name": "Durand", "phone": "+442079460958", "ship_street": "9 New St",
         "ship_city": "London", "ship_postcode": "SW1A 1AA", "ship_country": "United Kingdom",
         "ordered_at": "2025-07-01T10:00:00Z", "status": "completed", "currency": "GBP",
         "shipping_amount": "3.99"},
        {"order_id": "O-2", "user_id": "U-1", "crm_id": "",
         "customer_email": "amelie.durand@example.com", "first_name": "Amelie",
         "last_name": "Durand", "phone": "", "ship_street": "9 New St", "ship_city": "London",
         "ship_postcode": "SW1A 1AA", "ship_country": "GB",
         "ordered_at": "2025-08-01T10:00:00+01:00", "status": "returned", "currency": "EUR",
         "shipping_amount": "0"},
        {"order_id": "O-3", "user_id": "", "crm_id": "", "customer_email": "dan@example.com",
         "first_name": "Dan", "last_name": "Brown", "phone": "(555) 123-4567",
         "ship_street": "5 Main St", "ship_city": "Boston", "ship_postcode": "02101",
         "ship_country": "US", "ordered_at": "2025-09-01T10:00:00Z", "status": "completed",
         "currency": "USD", "shipping_amount": "5.00"},
    ],
    "shop_order_lines": [
        {"order_id": "O-1", "line_number": "1", "product_id": "P-1", "quantity": "2",
         "unit_price": "10.00", "discount": "1.00"},
        {"order_id": "O-1", "line_number": "2", "product_id": "P-2", "quantity": "1",
         "unit_price": "5.50", "discount": "0"},
        {"order_id": "O-2", "line_number": "1", "product_id": "P-1", "quantity": "1",
         "unit_price": "12.00", "discount": "0"},
        {"order_id": "O-3", "line_number": "1", "product_id": "P-2", "quantity": "3",
         "unit_price": "7.00", "discount": "0"},
    ],
    "pos_transactions": [
        {"transaction_id": "T-1", "line_number": "1", "store_id": "S-1", "loyalty_id": "L-1",
         "transacted_at": "2025-07-10T15:00:00Z", "product_id": "P-1", "quantity": "1",
         "unit_price": "10.00", "discount": "0", "currency": "GBP"},
        {"transaction_id": "T-2", "line_number": "1", "store_id": "S-1", "loyalty_id": "L-1",
         "transacted_at": "2025-07-12T15:00:00Z", "product_id": "P-1", "quantity": "-1",
         "unit_price": "10.00", "discount": "0", "currency": "GBP"},
        {"transaction_id": "T-3", "line_number": "1", "store_id": "S-2", "loyalty_id": "",
         "transacted_at": "2025-07-13T15:00:00Z", "product_id": "P-2", "quantity": "2",
         "unit_price": "5.50", "discount": "0.50", "currency": "GBP"},
    ],
    "support_tickets": [
        {"ticket_id": "TK-1", "customer_email": "bob@example.com", "channel": "Email",
         "topic": "Delivery", "opened_at": "2025-03-01T10:00:00Z",
         "closed_at": "2025-03-02T10:00:00Z", "satisfaction_score": "4"},
    ],
    "consent_events": [
        {"consent_event_id": "CE-1", "identifier": "Amelie.Durand@example.com",
         "identifier_type": "email", "purpose": "email_marketing", "status": "granted",
         "occurred_at": "2025-01-01T10:00:00Z", "source": "web"},
        {"consent_event_id": "CE-2", "identifier": "amelie.durand@example.com",
         "identifier_type": "email", "purpose": "email_marketing", "status": "withdrawn",
         "occurred_at": "2025-02-01T10:00:00Z", "source": "web"},
        {"consent_event_id": "CE-3", "identifier": "07700 900456", "identifier_type": "phone",
         "purpose": "analytics", "status": "granted", "occurred_at": "2025-02-01T10:00:00Z",
         "source": "store"},
    ],
    "catalog_products": [
        {"product_id": "P-1", "name": "Linen Shirt", "category": "Apparel",
         "tags": "summer|linen", "price": "10.00", "currency": "GBP"},
        {"product_id": "P-2", "name": "Espresso Cups", "category": "Home", "tags": "kitchen",
         "price": "6.00", "currency": "EUR"},
    ],
}  # fmt: skip

HAND_MADE_EVENTS: list[dict[str, object]] = [
    {"event_id": "E-1", "event_name": "page_view", "anonymous_id": "A-1", "user_id": None,
     "session_id": "S-1", "device": "mobile", "channel": "organic", "utm_source": None,
     "utm_campaign": None, "occurred_at": "2025-06-30T09:00:00Z",
     "properties": {"dwell_seconds": 12.5, "scroll_depth": 0.4}},
    {"event_id": "E-2", "event_name": "login", "anonymous_id": "A-1", "user_id": "U-1",
     "session_id": "S-1", "device": "mobile", "channel": "organic", "utm_source": None,
     "utm_campaign": None, "occurred_at": "2025-06-30T09:01:00Z", "properties": {}},
    {"event_id": "E-3", "event_name": "add_to_cart", "anonymous_id": "A-1", "user_id": "U-1",
     "session_id": "S-1", "device": "mobile", "channel": "organic", "utm_source": "news",
     "utm_campaign": "june", "occurred_at": "2025-06-30T09:02:00+01:00",
     "properties": {"product_id": "P-1", "category": "apparel", "price": 10.0, "quantity": 2,
                    "cart_value": 20.0}},
    {"event_id": "E-4", "event_name": "search", "anonymous_id": "A-2", "user_id": None,
     "session_id": "S-2", "device": "desktop", "channel": "paid", "utm_source": None,
     "utm_campaign": None, "occurred_at": "2025-07-01T09:00:00Z",
     "properties": {"query": "linen shirt"}},
]  # fmt: skip


def write_hand_made_landing(landing: Path) -> None:
    """A tiny landing directory in the contract's layout, with the messiness staging fixes."""
    for pattern, table in LANDING_FILES.items():
        path = landing / pattern.replace("*", "0001")
        path.parent.mkdir(parents=True, exist_ok=True)
        if table == "web_events":
            with gzip.open(path, "wt", encoding="utf-8") as out:
                for event in HAND_MADE_EVENTS:
                    out.write(json.dumps(event) + "\n")
            continue
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=RAW_COLUMNS[table])
            writer.writeheader()
            writer.writerows(HAND_MADE_ROWS[table])


# --------------------------------------------------------------------------------------
# Loading raw tables, quarantine, and the provisional identity graph
# --------------------------------------------------------------------------------------


def load_raw_tables(con: duckdb.DuckDBPyConnection, landing: Path) -> str:
    """raw.<table> per the contract; returns which loader made them.

    The extract package's `load_landing_dir` (with its quality rules' quarantine) when it is
    importable, else a plain reader: file columns as VARCHAR + the `_` metadata columns.
    """
    try:
        from python_models.extract.loader import load_landing_dir
    except ImportError:
        load_landing_dir = None
    if load_landing_dir is not None:
        load_landing_dir(con, landing)
        return "python_models.extract"
    con.execute("create schema if not exists raw")
    for pattern, table in LANDING_FILES.items():
        files = sorted(landing.glob(pattern))
        assert files, f"no landing file matches {pattern} under {landing}"
        columns = RAW_COLUMNS[table]
        selects = []
        for file in files:
            relative = file.relative_to(landing).as_posix()
            load_id = f"{table}-{relative}"
            if table == "web_events":
                reader = (
                    f"read_json('{file}', format = 'newline_delimited', records = true, "
                    "columns = {" + ", ".join(f"{c}: 'VARCHAR'" for c in columns) + "})"
                )
            else:
                reader = (
                    f"read_csv('{file}', all_varchar = true, header = true, delim = ',', "
                    "quote = '\"', escape = '\"', strict_mode = false, null_padding = true)"
                )
            selects.append(
                f"select {', '.join(columns)}, '{load_id}' as _load_id, "
                f"'{relative}' as _source_file, "
                "cast(row_number() over () as bigint) as _row_number, "
                "cast(current_timestamp as timestamp) as _loaded_at, "
                f"cast(null as json) as _extra from {reader}"
            )
        con.execute(f"create or replace table raw.{table} as {' union all '.join(selects)}")
    return "fixture reader"


def create_quarantine_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty quarantine.<table> with the contract's columns (the quality asset owns these)."""
    con.execute("create schema if not exists quarantine")
    for table in RAW_COLUMNS:
        con.execute(
            f"create table if not exists quarantine.{table} as "
            f"select *, cast([] as varchar[]) as failed_rules, "
            "cast(null as timestamp) as quarantined_at, cast(null as timestamp) as released_at "
            f"from raw.{table} where false"
        )


def quarantine_rows(con: duckdb.DuckDBPyConnection, table: str, where: str) -> int:
    """Hold back raw rows matching `where`, as the quality asset would; returns how many."""
    con.execute(
        f"insert into quarantine.{table} select *, ['fixture_rule'], current_timestamp, null "
        f"from raw.{table} where {where}"
    )
    return con.execute(f"select count(*) from quarantine.{table}").fetchone()[0]


PROVISIONAL_IDENTITY_GRAPH_FIXTURE_SQL = """
-- TEST FIXTURE ONLY, not identity resolution: one customer per normalised email, records
-- without an email joined through their crm_id / user_id / linked user ids; the real graph
-- is written by the identity asset (python_models/identity).
create schema if not exists identity;
create or replace table identity.identity_graph as
with records as (
    select * from intermediate.int_person_records_unioned
),
email_keys as (
    select source_system, source_record_id, email as anchor from records where email is not null
),
crm_anchor as (
    select crm_id, min(anchor) as anchor from email_keys
    join records using (source_system, source_record_id)
    where crm_id is not null group by crm_id
),
user_anchor as (
    select user_id, min(anchor) as anchor from email_keys
    join records using (source_system, source_record_id)
    where user_id is not null group by user_id
),
anchored as (
    select
        records.source_system,
        records.source_record_id,
        coalesce(
            records.email,
            crm_anchor.anchor,
            user_anchor.anchor,
            (select min(u.anchor) from user_anchor as u
             where list_contains(records.linked_user_ids, u.user_id)),
            records.source_system || ':' || records.source_record_id
        ) as anchor
    from records
    left join crm_anchor on records.crm_id = crm_anchor.crm_id
    left join user_anchor on records.user_id = user_anchor.user_id
)
select
    source_system,
    source_record_id,
    'c_' || substr(md5(anchor), 1, 12) as customer_key,
    'fixture_email' as link_method,
    1.0 as confidence,
    current_timestamp::timestamp as first_linked_at,
    'fixture' as last_run_id
from anchored
"""


# --------------------------------------------------------------------------------------
# Running dbt
# --------------------------------------------------------------------------------------


@dataclass
class DbtWarehouse:
    path: Path
    build_seconds: float
    used_sample: bool


def run_dbt(args: list[str], warehouse: Path, work: Path) -> subprocess.CompletedProcess[str]:
    dbt = Path(sys.executable).with_name("dbt")
    env = {
        **os.environ,
        "CUSTOMER360_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.run(
        [
            str(dbt), *args,
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(work / "target"),
            "--log-path", str(work / "logs"),
        ],
        capture_output=True, text=True, env=env, check=False, cwd=work,
    )  # fmt: skip


def assert_dbt_ok(result: subprocess.CompletedProcess[str], step: str) -> None:
    assert result.returncode == 0, f"dbt {step} failed:\n{result.stdout[-6000:]}{result.stderr}"


@pytest.fixture(scope="module")
def dbt_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtWarehouse]:
    import time

    work = tmp_path_factory.mktemp("dbt_build")
    used_sample = any(SAMPLE_LANDING_DIR.glob("crm/contacts_*.csv"))
    landing = SAMPLE_LANDING_DIR
    if not used_sample:
        landing = work / "landing"
        write_hand_made_landing(landing)
    warehouse = work / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load_raw_tables(con, landing)
        create_quarantine_tables(con)
        quarantine_rows(con, "crm_contacts", "crm_id = 'CRM-BAD' or _row_number = 3")

    started = time.perf_counter()
    # 1. everything identity resolution reads
    assert_dbt_ok(
        run_dbt(
            [
                "build",
                "--select",
                "+int_person_records_unioned",
                "--indirect-selection",
                "cautious",
            ],
            warehouse,
            work,
        ),
        "build (staging and identity input)",
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute(PROVISIONAL_IDENTITY_GRAPH_FIXTURE_SQL)
    # 2. the rest: marts on the identity graph
    assert_dbt_ok(
        run_dbt(["build", "--exclude", "+int_person_records_unioned"], warehouse, work),
        "build (the rest)",
    )
    yield DbtWarehouse(warehouse, time.perf_counter() - started, used_sample)


def query(warehouse: DbtWarehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_dbt_build_makes_every_mart_with_rows(dbt_warehouse: DbtWarehouse) -> None:
    for mart in ("dim_customers", "fct_orders", "fct_order_lines", "fct_events", "dim_products"):
        (count,) = query(dbt_warehouse, f"select count(*) from marts.{mart}")[0]
        assert count > 0, f"marts.{mart} is empty"
    print(f"dbt build: {dbt_warehouse.build_seconds:.1f}s (sample={dbt_warehouse.used_sample})")


def test_quarantined_rows_never_reach_staging(dbt_warehouse: DbtWarehouse) -> None:
    held_back = query(
        dbt_warehouse,
        "select count(*) from staging.stg_crm__contacts as s "
        "join quarantine.crm_contacts as q on s.crm_id = q.crm_id "
        "where q.released_at is null "
        "and not exists (select 1 from raw.crm_contacts r where r.crm_id = s.crm_id "
        "and not exists (select 1 from quarantine.crm_contacts q2 "
        "where q2._load_id = r._load_id and q2._row_number = r._row_number))",
    )[0][0]
    assert held_back == 0


def test_dim_customers_has_one_row_per_customer_key(dbt_warehouse: DbtWarehouse) -> None:
    customers, keys = query(
        dbt_warehouse,
        "select (select count(*) from marts.dim_customers), "
        "(select count(distinct customer_key) from identity.identity_graph)",
    )[0]
    assert customers == keys


def test_customer_revenue_adds_up_to_order_revenue(dbt_warehouse: DbtWarehouse) -> None:
    from_customers, from_orders = query(
        dbt_warehouse,
        "select (select sum(total_revenue_reporting) from marts.dim_customers), "
        "(select sum(net_amount_reporting) from marts.fct_orders where customer_key is not null)",
    )[0]
    assert from_customers == from_orders


def test_staging_normalises_contact_details(dbt_warehouse: DbtWarehouse) -> None:
    emails = query(
        dbt_warehouse,
        "select count(*) from staging.stg_crm__contacts where email <> lower(trim(email))",
    )[0][0]
    assert emails == 0
    bad_phones = query(
        dbt_warehouse,
        "select count(*) from intermediate.int_person_records_unioned "
        "where phone is not null and not regexp_full_match(phone, '\\+[1-9][0-9]{7,14}')",
    )[0][0]
    assert bad_phones == 0


def test_hand_made_golden_record(dbt_warehouse: DbtWarehouse) -> None:
    """The hand-made landing's Amélie: crm wins the name, consent withdrawn, returns netted."""
    if dbt_warehouse.used_sample:
        pytest.skip("checks the hand-made landing's known customer")
    row = query(
        dbt_warehouse,
        "select given_name, family_name, primary_email, phone, street, postcode, birth_date, "
        "consent_email_marketing, online_order_count, store_order_count, "
        "online_revenue_reporting, store_revenue_reporting, crm_record_count, "
        "web_anonymous_record_count "
        "from marts.dim_customers where primary_email = 'amelie.durand@example.com'",
    )
    assert len(row) == 1
    (given, family, email, phone, street, postcode, birth, consent, online, store,
     online_rev, store_rev, crm, anon) = row[0]  # fmt: skip
    assert (given, family, email) == ("Amélie", "Durand", "amelie.durand@example.com")
    assert phone == "+442079460958"
    assert (street, postcode) == ("1 High St", "SW1A 1AA")
    assert str(birth) == "1985-04-12"
    assert consent is False
    # O-1 completed (2×10 − 1 + 5.50), O-2 returned (nets to zero); T-1 sale, T-2 refund
    assert (online, store) == (1, 1)
    assert float(online_rev) == pytest.approx(24.50)
    assert float(store_rev) == pytest.approx(0.0)
    assert (crm, anon) == (1, 1)

"""Quarantine by rule family: bad rows land in quarantine with the right rule, good rows pass."""

from collections.abc import Iterator

import duckdb
import pytest

from python_models.contract import CONTRACT
from python_models.quality.evaluate import evaluate_load
from python_models.quality.quarantine import (
    ensure_quarantine_table,
    quarantine_failures,
    quarantine_load,
)
from python_models.quality.rules import REGISTRY, rule_counts, rules_markdown
from python_models.quality.sql import failure_predicate
from tests.support.raw_tables import insert_raw_rows

LOADED_AT = "2026-11-01 00:00:00"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def order(order_id: str, **overrides: str | None) -> dict:
    row = {
        "order_id": order_id,
        "customer_email": f"{order_id}@example.com",
        "ordered_at": "2026-10-01T10:00:00Z",
        "status": "completed",
        "currency": "GBP",
        "shipping_amount": "3.95",
        "ship_postcode": "SW1A 1AA",
        "ship_country": "GB",
        "phone": "+44 20 7946 0958",
    }
    row.update(overrides)
    return row


def quarantined(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, list[str]]:
    """First natural-key column → failed rules, for the unreleased quarantine rows."""
    key = REGISTRY[table].natural_key[0]
    rows = con.execute(
        f"select coalesce({key}, '#' || _row_number), failed_rules from quarantine.{table} "
        "where released_at is null"
    ).fetchall()
    return {k: sorted(rules) for k, rules in rows}


def warnings_failed(con: duckdb.DuckDBPyConnection, table: str, load_id: str) -> dict[str, int]:
    return {
        r.rule: r.failing_rows
        for r in evaluate_load(con, table, load_id)
        if r.severity == "warning" and not r.passed
    }


def test_every_row_rule_compiles_to_sql_that_duckdb_accepts(con) -> None:
    for spec in REGISTRY.values():
        insert_raw_rows(con, spec.table, [])
        for rule in spec.row_rules():
            con.execute(f"select {failure_predicate(rule)} from raw.{spec.table} as r").fetchall()
    counts = rule_counts()
    assert set(counts) == set(REGISTRY)
    catalogue = rules_markdown().splitlines()
    assert len(catalogue) == 2 + sum(c["blocking"] + c["warning"] for c in counts.values())
    assert all(c["blocking"] >= 2 for c in counts.values())


def test_quarantine_table_exists_before_any_load_and_is_idempotent(con) -> None:
    ensure_quarantine_table(con, "crm_contacts")
    ensure_quarantine_table(con, "crm_contacts")
    columns = [r[0] for r in con.execute("describe quarantine.crm_contacts").fetchall()]
    assert columns[0] == "crm_id"
    assert columns[-3:] == ["failed_rules", "quarantined_at", "released_at"]
    assert "_row_number" in columns


def test_unknown_table_is_a_clear_error(con) -> None:
    with pytest.raises(KeyError, match="no data-quality rules registered for raw table 'nope'"):
        ensure_quarantine_table(con, "nope")


def test_schema_rule_quarantines_rows_missing_their_key(con) -> None:
    insert_raw_rows(con, "shop_orders", [order("o1"), order(None), order("o3", status="  ")])
    assert quarantine_load(con, "shop_orders", "load-1") == 2
    assert quarantined(con, "shop_orders") == {
        "#2": ["order_id_required"],
        "o3": ["status_required"],
    }


def test_format_rules_block_bad_currency_but_only_warn_on_contact_details(con) -> None:
    rows = [
        order("o1"),
        order("o2", currency="XYZ"),
        order("o3", customer_email="not-an-email", phone="call me", ship_postcode="12"),
        order("o4", ship_country="US", ship_postcode="90210"),
        order("o5", ship_country="US", ship_postcode="SW1A 1AA"),
    ]
    insert_raw_rows(con, "shop_orders", rows)
    assert quarantine_load(con, "shop_orders", "load-1") == 1
    assert quarantined(con, "shop_orders") == {"o2": ["currency_accepted_values"]}
    assert warnings_failed(con, "shop_orders", "load-1") == {
        "customer_email_format": 1,
        "phone_format": 1,
        "ship_postcode_format": 2,
    }


def test_range_rules_on_amounts_and_timestamps_relative_to_load_time(con) -> None:
    rows = [
        order("ok-offset", ordered_at="2026-10-31T23:30:00-02:00"),  # 01:30Z: within tolerance
        order("neg", shipping_amount="-0.01"),
        order("text", shipping_amount="free"),
        order("future", ordered_at="2026-11-03T00:00:00Z"),
        order("ancient", ordered_at="1999-12-31T23:59:59Z"),
        order("garbled", ordered_at="31/12/2025"),
    ]
    insert_raw_rows(con, "shop_orders", rows, loaded_at=LOADED_AT)
    assert quarantine_load(con, "shop_orders", "load-1") == 5
    assert quarantined(con, "shop_orders") == {
        "neg": ["shipping_amount_range"],
        "text": ["shipping_amount_range"],
        "future": ["ordered_at_timestamp"],
        "ancient": ["ordered_at_timestamp"],
        "garbled": ["ordered_at_timestamp"],
    }


def test_pos_returns_may_have_negative_quantities_but_not_zero(con) -> None:
    base = {
        "transaction_id": "t1",
        "store_id": "s1",
        "transacted_at": "2026-10-01T09:00:00Z",
        "product_id": "p1",
        "unit_price": "10.00",
        "currency": "EUR",
    }
    rows = [
        {**base, "line_number": "1", "quantity": "2"},
        {**base, "line_number": "2", "quantity": "-1"},
        {**base, "line_number": "3", "quantity": "0"},
        {**base, "line_number": "4", "quantity": "1.5"},
        {**base, "line_number": "5", "quantity": "1", "unit_price": "-10"},
    ]
    insert_raw_rows(con, "pos_transactions", rows)
    assert quarantine_load(con, "pos_transactions", "load-1") == 3
    failed = con.execute(
        "select line_number, failed_rules from quarantine.pos_transactions order by 1"
    ).fetchall()
    assert failed == [
        ("3", ["quantity_range"]),
        ("4", ["quantity_range"]),
        ("5", ["unit_price_range"]),
    ]


def test_age_from_birth_date_is_a_warning_at_load_time(con) -> None:
    rows = [
        {"crm_id": "c1", "birth_date": "1980-05-01"},
        {"crm_id": "c2", "birth_date": "2013-11-02"},  # 12 the day before their 13th birthday
        {"crm_id": "c3", "birth_date": "1890-01-01"},
        {"crm_id": "c4", "birth_date": "not a date"},
        {"crm_id": "c5", "birth_date": "2013-11-01"},  # 13 today
    ]
    rows = [{**row, "email": f"{row['crm_id']}@example.com", "last_name": "Doe"} for row in rows]
    insert_raw_rows(con, "crm_contacts", rows)
    assert quarantine_load(con, "crm_contacts", "load-1") == 0
    # the unparseable one is the date rule's to count, not the age rule's
    assert warnings_failed(con, "crm_contacts", "load-1") == {
        "birth_date_age": 2,
        "birth_date_date": 1,
    }


def test_uniqueness_quarantines_later_duplicates_within_a_load_only(con) -> None:
    insert_raw_rows(con, "shop_orders", [order("o1"), order("o2"), order("o1")], "load-1")
    insert_raw_rows(con, "shop_orders", [order("o1")], "load-2")
    assert quarantine_load(con, "shop_orders", "load-1") == 1
    assert quarantine_load(con, "shop_orders", "load-2") == 0
    rows = con.execute("select order_id, _row_number, failed_rules from quarantine.shop_orders")
    assert rows.fetchall() == [("o1", 3, ["order_id_unique"])]


def test_composite_natural_key_uniqueness(con) -> None:
    line = {"order_id": "o1", "product_id": "p1", "quantity": "1", "unit_price": "5"}
    rows = [
        {**line, "line_number": "1"},
        {**line, "line_number": "2"},
        {**line, "line_number": "1"},
    ]
    insert_raw_rows(con, "shop_order_lines", rows)
    assert quarantine_load(con, "shop_order_lines", "load-1") == 1
    assert quarantined(con, "shop_order_lines") == {"o1": ["order_id_line_number_unique"]}


def test_accepted_values_for_events_and_consent(con) -> None:
    event = {"session_id": "s", "anonymous_id": "a", "occurred_at": "2026-10-01T00:00:00Z"}
    insert_raw_rows(
        con,
        "web_events",
        [
            {**event, "event_id": "e1", "event_name": "page_view"},
            {**event, "event_id": "e2", "event_name": "pageview"},
        ],
    )
    consent = {
        "identifier": "a@example.com",
        "identifier_type": "email",
        "occurred_at": "2026-10-01T00:00:00Z",
    }
    insert_raw_rows(
        con,
        "consent_events",
        [
            {**consent, "consent_event_id": "k1", "purpose": "analytics", "status": "granted"},
            {**consent, "consent_event_id": "k2", "purpose": "spam", "status": "granted"},
            {**consent, "consent_event_id": "k3", "purpose": "analytics", "status": "maybe"},
        ],
    )
    assert quarantine_load(con, "web_events", "load-1") == 1
    assert quarantine_load(con, "consent_events", "load-1") == 2
    assert quarantined(con, "web_events") == {"e2": ["event_name_accepted_values"]}
    assert quarantined(con, "consent_events") == {
        "k2": ["purpose_accepted_values"],
        "k3": ["status_accepted_values"],
    }


def test_completeness_threshold_is_a_table_level_warning(con) -> None:
    rows = [order(f"o{i}", customer_email=None if i < 3 else f"{i}@x.com") for i in range(10)]
    insert_raw_rows(con, "shop_orders", rows)
    result = {r.rule: r for r in evaluate_load(con, "shop_orders", "load-1")}
    completeness = result["customer_email_completeness"]
    assert not completeness.passed
    assert completeness.failing_rows == 3
    assert "70.0% filled" in completeness.detail
    assert quarantine_load(con, "shop_orders", "load-1") == 0


def test_cross_source_consistency_flags_orders_of_unknown_customers(con) -> None:
    insert_raw_rows(con, "crm_contacts", [{"crm_id": "c1", "email": "Known@Example.com"}])
    insert_raw_rows(
        con,
        "shop_orders",
        [order("o1", customer_email=" known@example.com "), order("o2", crm_id="c9")],
    )
    result = {r.rule: r for r in evaluate_load(con, "shop_orders", "load-1")}
    assert result["customer_email_known_customer"].failing_rows == 1  # o2's email is unknown
    assert result["crm_id_known_customer"].failing_rows == 1
    assert "user_id_known_customer" not in result  # web_events not loaded: not evaluated
    assert quarantine_load(con, "shop_orders", "load-1") == 0


def test_reconciliation_rows_read_equal_passed_plus_quarantined(con) -> None:
    rows = [order(f"o{i}") for i in range(50)]
    rows += [order("bad1", status="lost"), order("bad2", currency=None), order("o7")]
    insert_raw_rows(con, "shop_orders", rows)
    quarantined_count = quarantine_load(con, "shop_orders", "load-1")
    passed = con.execute(
        "select count(*) from raw.shop_orders r where not exists (select 1 from "
        "quarantine.shop_orders q where q._load_id = r._load_id and q._row_number = r._row_number "
        "and q.released_at is null)"
    ).fetchone()[0]
    assert quarantined_count == 3
    assert passed + quarantined_count == len(rows)
    assert quarantine_load(con, "shop_orders", "load-1") == 3  # idempotent re-run


def test_failure_summary_names_rule_count_and_three_samples(con) -> None:
    rows = [order(f"o{i}", status="lost") for i in range(5)] + [order("ok")]
    insert_raw_rows(con, "shop_orders", rows)
    quarantine_load(con, "shop_orders", "load-1")
    [failure] = quarantine_failures(con, "shop_orders", "load-1")
    assert (failure.rule, failure.failing_rows, len(failure.samples)) == (
        "status_accepted_values",
        5,
        3,
    )
    message = failure.message()
    assert "shop_orders" in message and "status_accepted_values" in message and "5 row" in message
    assert "'o0'" in message


def test_consent_identifier_format_follows_its_type(con) -> None:
    consent = {"purpose": "analytics", "status": "granted", "occurred_at": "2026-10-01T00:00:00Z"}
    rows = [
        {**consent, "consent_event_id": "k1", "identifier": "a@x.com", "identifier_type": "email"},
        {
            **consent,
            "consent_event_id": "k2",
            "identifier": "+447700900123",
            "identifier_type": "phone",
        },
        {
            **consent,
            "consent_event_id": "k3",
            "identifier": "+447700900123",
            "identifier_type": "email",
        },
        {**consent, "consent_event_id": "k4", "identifier": "a@x.com", "identifier_type": "phone"},
    ]
    insert_raw_rows(con, "consent_events", rows)
    assert quarantine_load(con, "consent_events", "load-1") == 0
    assert warnings_failed(con, "consent_events", "load-1") == {"identifier_format": 2}


def test_rules_name_only_columns_the_raw_contract_declares() -> None:
    sources = CONTRACT
    assert set(REGISTRY) == set(sources)
    for table, spec in REGISTRY.items():
        assert spec.natural_key == sources[table].natural_key, table
        columns = set(sources[table].column_names)
        for rule in spec.rules:
            assert set(rule.columns) <= columns, f"{table}.{rule.name} names unknown columns"
        required = {r.column for r in spec.rules if r.kind == "required"}
        assert set(spec.natural_key) <= required, f"{table}: natural key must be required"
        for rule in spec.rules:
            for target, *target_columns in rule.params.get("targets", ()):
                assert set(target_columns) <= set(sources[target].column_names), rule.name

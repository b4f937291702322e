"""Pure parts of the live extracts: drift notes, redaction, API records, Retry-After."""

import json

from python_models.contract import CONTRACT
from python_models.extract.live.crm_api import _retry_after, records_table
from python_models.extract.live.postgres import SHOP_TABLES, drift_notes, redacted, text_column_sql
from python_models.sample_data.crm_api import decode_after, encode_after

ORDERS = SHOP_TABLES[0]


def test_drift_notes_name_new_changed_and_dropped_columns():
    before = {"id": "text", "status": "text", "shipping_amount": "numeric", "legacy": "text"}
    now = {"id": "text", "status": "text", "shipping_amount": "text", "gift_message": "text"}
    notes, extra = drift_notes(ORDERS, before, now)
    assert "column orders.shipping_amount changed type numeric -> text" in notes
    assert "new column orders.gift_message (text) kept in _extra" in notes
    assert "column orders.legacy was dropped from the source" in notes
    assert extra == ("gift_message",)


def test_first_extract_reports_no_drift_and_deleted_at_is_not_extra():
    notes, extra = drift_notes(ORDERS, {}, {"id": "text", "deleted_at": "timestamp with time zone"})
    assert not any("new column" in n for n in notes)
    assert extra == ()


def test_every_mapped_column_is_a_contract_column():
    for table in SHOP_TABLES:
        assert set(table.columns) <= set(CONTRACT[table.raw_table].column_names)
        assert table.raw_key == CONTRACT[table.raw_table].natural_key


def test_passwords_are_redacted_and_timestamps_read_as_iso_utc():
    assert redacted("postgresql://u:s3cret@db:5432/shop") == "postgresql://u:***@db:5432/shop"
    assert "at time zone 'UTC'" in text_column_sql("ordered_at", "timestamp with time zone")
    assert text_column_sql("quantity", "integer") == '"quantity"::text'


def test_api_records_become_contract_rows_with_unknown_properties_kept():
    columns = CONTRACT["crm_contacts"].column_names
    table = records_table(
        [
            {"id": 42, "properties": {"email": "a@b.io", "lifecycle": "lead"}, "updatedAt": "t1"},
            {"properties": {"email": "x@y.io"}, "updatedAt": "t2"},
        ],
        columns,
    ).to_pylist()
    assert table[0]["crm_id"] == "42" and table[0]["updated_at"] == "t1"
    assert json.loads(table[0]["_extra"]) == {"lifecycle": "lead"}
    assert table[1]["crm_id"] is None
    assert json.loads(table[1]["_extra"])["record_without_id"]["properties"]["email"] == "x@y.io"


def test_retry_after_seconds_are_capped_and_garbage_ignored():
    assert _retry_after("3", cap=120) == 3.0
    assert _retry_after("9999", cap=120) == 120.0
    assert _retry_after("soon", cap=120) is None
    assert _retry_after(None, cap=120) is None


def test_after_cursor_round_trips():
    from datetime import UTC, datetime

    key = (datetime(2026, 11, 1, 12, 0, tzinfo=UTC), "C00000000042")
    assert decode_after(encode_after(key)) == key

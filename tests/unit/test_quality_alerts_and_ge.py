"""Alert hooks deliver, and the great-expectations suite agrees with the SQL rules."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pytest

from python_models.quality.alerts import send_alert
from python_models.quality.evaluate import evaluate_load
from python_models.quality.expectations import SQL_ONLY_KINDS, expectation_for
from python_models.quality.ge_validation import validate_latest_load
from python_models.quality.quarantine import quarantine_load
from python_models.quality.rules import REGISTRY
from tests.support.raw_tables import insert_raw_rows


def test_file_hook_appends_one_json_line_per_alert(tmp_path: Path) -> None:
    hook = f"file:{tmp_path / 'alerts' / 'dq.jsonl'}"
    send_alert(hook, "gate failed", "raw.shop_orders: rule x", {"table": "shop_orders"})
    send_alert(hook, "gate failed again", "raw.crm_contacts: rule y")
    lines = (tmp_path / "alerts" / "dq.jsonl").read_text().splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["gate failed", "gate failed again"]
    assert json.loads(lines[0])["details"] == {"table": "shop_orders"}


def test_webhook_hook_posts_json_to_the_url() -> None:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        send_alert(f"http://127.0.0.1:{server.server_port}/hook", "gate failed", "details")
        thread.join(timeout=5)
    finally:
        server.server_close()
    assert received and received[0]["title"] == "gate failed"


def test_unreachable_webhook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    send_alert("http://127.0.0.1:9/nowhere", "gate failed", "msg")
    assert "alert hook http://127.0.0.1:9/nowhere failed" in caplog.text


def test_unknown_hook_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="CUSTOMER360_ALERT_HOOK='smtp:x'"):
        send_alert("smtp:x", "t", "m")


def test_every_rule_has_an_expectation_or_is_sql_only() -> None:
    for spec in REGISTRY.values():
        for rule in spec.rules:
            expectation = expectation_for(rule)
            assert (expectation is None) == (rule.kind in SQL_ONLY_KINDS), rule.name
            if expectation is not None:
                assert expectation.meta["rule"] == rule.name


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_ge_suite_counts_agree_with_sql_rules(con) -> None:
    base = {"first_name": "Ann", "last_name": "Lee", "country": "GB"}
    rows = [
        {**base, "crm_id": "c1", "email": "a@x.com", "postcode": "SW1A 1AA"},
        {**base, "crm_id": "c2", "email": "not-an-email", "postcode": "12345"},
        {**base, "crm_id": "c3", "email": "b@x", "birth_date": "1850-01-01"},
        {**base, "crm_id": "c4", "phone": "call me", "updated_at": "2026-10-01T00:00:00Z"},
        {**base, "crm_id": None, "email": "z@x.com"},  # quarantined: never reaches GE
    ]
    insert_raw_rows(con, "crm_contacts", rows)
    assert quarantine_load(con, "crm_contacts", "load-1") == 1
    outcome = validate_latest_load(con, "crm_contacts")
    assert outcome is not None
    assert (outcome.rows_in_load, outcome.rows_validated, outcome.sampled) == (4, 4, False)
    ge = {o.rule: o.unexpected_count for o in outcome.outcomes}
    assert ge["email_format"] == 2
    assert ge["postcode_format"] == 1
    assert ge["birth_date_age"] == 1
    assert ge["phone_format"] == 1
    assert not outcome.failed("blocking")  # quarantine removed the only blocking failure
    sql = {r.rule: r.failing_rows for r in evaluate_load(con, "crm_contacts", "load-1")}
    for rule in ("email_format", "postcode_format", "birth_date_age", "phone_format"):
        assert ge[rule] == sql[rule]


def test_large_loads_are_sampled_and_say_so(con) -> None:
    rows = [{"product_id": f"p{i}", "price": "9.99", "currency": "GBP"} for i in range(300)]
    insert_raw_rows(con, "catalog_products", rows)
    outcome = validate_latest_load(con, "catalog_products", sample_rows=100)
    assert outcome is not None
    assert (outcome.rows_in_load, outcome.rows_validated, outcome.sampled) == (300, 100, True)

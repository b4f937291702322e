"""The sample's second-day delivery: only new or changed rows, timed on the day it covers."""

import csv
import gzip
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import SAMPLE_LANDING_DIR, SAMPLE_NEXT_DAY_DIR, SAMPLE_TRUTH_DIR
from python_models.sample_data.next_day import Campaign, Delivery, write_next_day_delivery

DAY = date(2026, 11, 2)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def committed_campaign() -> Campaign:
    """The campaign `make sample` planted: the day-1 win_back export's recipients."""
    truth = json.loads((SAMPLE_TRUTH_DIR / "campaign.json").read_text())
    return Campaign(
        SAMPLE_TRUTH_DIR / truth["sent_list"], truth["response_rate"], truth["campaign"]
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Delivery]:
    out = tmp_path_factory.mktemp("day2") / "delivery"
    with duckdb.connect() as con:
        result = write_next_day_delivery(
            con, SAMPLE_LANDING_DIR, out, DAY, campaign=committed_campaign()
        )
    return out, result


@pytest.fixture(scope="module")
def delivery(written) -> Path:
    return written[0]


def test_new_orders_happen_on_the_covered_day_with_ids_the_sample_never_used(delivery) -> None:
    orders = rows(delivery / "shop" / "orders_2026-11-02.csv")
    lines = rows(delivery / "shop" / "order_lines_2026-11-02.csv")
    first_day = {r["order_id"] for r in rows(SAMPLE_LANDING_DIR / "shop/orders_2026-11-01.csv")}
    assert orders and all(o["ordered_at"].startswith("2026-11-01T") for o in orders)
    assert not {o["order_id"] for o in orders} & first_day
    assert {line["order_id"] for line in lines} == {o["order_id"] for o in orders}


def test_crm_gets_moves_of_known_contacts_and_sign_ups_of_known_shoppers(delivery) -> None:
    contacts = rows(delivery / "crm" / "contacts_2026-11-02.csv")
    known = {r["crm_id"]: r for r in rows(SAMPLE_LANDING_DIR / "crm/contacts_2026-11-01.csv")}
    moved = [c for c in contacts if c["crm_id"] in known]
    signed_up = [c for c in contacts if c["crm_id"] not in known]
    assert moved and all(c["updated_at"].startswith("2026-11-01T") for c in moved)
    assert all(
        (c["street"], c["city"]) != (known[c["crm_id"]]["street"], known[c["crm_id"]]["city"])
        for c in moved
    )
    shop_emails = {
        r["customer_email"].strip().lower()
        for r in rows(SAMPLE_LANDING_DIR / "shop/orders_2026-11-01.csv")
        if r["customer_email"]
    }
    assert signed_up and all(c["email"].strip().lower() in shop_emails for c in signed_up)


def test_consent_withdrawals_and_web_sessions_are_new_events(delivery) -> None:
    consent = rows(delivery / "consent" / "consent_events_2026-11-02.csv")
    assert consent and {c["status"] for c in consent} == {"withdrawn"}
    with gzip.open(delivery / "web" / "events_2026-11-02.ndjson.gz", "rt") as handle:
        events = [json.loads(line) for line in handle]
    assert events and all(e["occurred_at"].startswith("2026-11-01T") for e in events)
    assert all(e["event_id"].startswith("E20261102") for e in events)


def test_the_committed_second_day_is_what_the_generator_writes(delivery) -> None:
    # `make sample` regenerates seeds/sample_day2; the committed files must match it.
    for path in sorted(p for p in delivery.rglob("*") if p.is_file() and p.suffix == ".csv"):
        committed = SAMPLE_NEXT_DAY_DIR / path.relative_to(delivery)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: make sample"


def test_campaign_recipients_respond_at_the_configured_rate(written) -> None:
    out, result = written
    truth = result.campaign
    campaign = committed_campaign()
    with campaign.sent_list.open(newline="") as handle:
        sent = {row["email"] for row in csv.DictReader(handle)}
    orders = rows(out / "shop" / "orders_2026-11-02.csv")
    guest_emails = {
        o["customer_email"].strip().lower() for o in orders if not o["order_id"][9:].isdigit()
    }
    assert truth["recipients"] == len(sent) > 0
    would_not_buy = truth["recipients"] - truth["recipients_buying_organically"]
    assert truth["campaign_orders"] == round(would_not_buy * campaign.response_rate) > 0
    ordered = {o["customer_email"].strip().lower() for o in orders}
    assert len(ordered & sent) == truth["campaign_orders"] + truth["recipients_buying_organically"]
    assert guest_emails <= sent  # guest checkouts (O<day>C…) are recipients only
    assert truth["planted_uplift"] == pytest.approx(campaign.response_rate * (1 - 0.05))

"""The sample-data generator: reproducible, on contract, messy as configured, and truthful.

Runs are small (hundreds to a couple of thousand people) and written to temporary folders.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pytest

from orchestration.settings import DEFAULT_MEMORY_LIMIT as MEMORY_LIMIT
from python_models.sample_data import GeneratorConfig, generate
from python_models.sample_data.people import mailbox_numbers
from python_models.sample_data.reference import GENERIC_EMAILS

# The landing contract of docs/architecture.md, column for column.
CONTRACT: dict[str, tuple[str, list[str]]] = {
    "crm_contacts": (
        "crm/contacts_*.csv",
        [
            "crm_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "street",
            "city",
            "postcode",
            "country",
            "birth_date",
            "created_at",
            "updated_at",
        ],
    ),
    "shop_orders": (
        "shop/orders_*.csv",
        [
            "order_id",
            "user_id",
            "crm_id",
            "customer_email",
            "first_name",
            "last_name",
            "phone",
            "ship_street",
            "ship_city",
            "ship_postcode",
            "ship_country",
            "ordered_at",
            "status",
            "currency",
            "shipping_amount",
        ],
    ),
    "shop_order_lines": (
        "shop/order_lines_*.csv",
        ["order_id", "line_number", "product_id", "quantity", "unit_price", "discount"],
    ),
    "pos_transactions": (
        "pos/transactions_*.csv",
        [
            "transaction_id",
            "line_number",
            "store_id",
            "loyalty_id",
            "transacted_at",
            "product_id",
            "quantity",
            "unit_price",
            "discount",
            "currency",
        ],
    ),
    "pos_loyalty_members": (
        "pos/loyalty_members_*.csv",
        [
            "loyalty_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "postcode",
            "birth_date",
            "tier",
            "points",
            "enrolled_at",
        ],
    ),
    "support_tickets": (
        "support/tickets_*.csv",
        [
            "ticket_id",
            "customer_email",
            "channel",
            "topic",
            "opened_at",
            "closed_at",
            "satisfaction_score",
        ],
    ),
    "consent_events": (
        "consent/consent_events_*.csv",
        [
            "consent_event_id",
            "identifier",
            "identifier_type",
            "purpose",
            "status",
            "occurred_at",
            "source",
        ],
    ),
    "catalog_products": (
        "catalog/products_*.csv",
        ["product_id", "name", "category", "tags", "price", "currency"],
    ),
}
WEB_FIELDS = [
    "event_id",
    "event_name",
    "anonymous_id",
    "user_id",
    "session_id",
    "device",
    "channel",
    "utm_source",
    "utm_campaign",
    "occurred_at",
    "properties",
]
WEB_PROPERTIES = {
    "order_id",
    "product_id",
    "category",
    "price",
    "quantity",
    "scroll_depth",
    "dwell_seconds",
    "query",
    "cart_value",
}
EVENT_NAMES = {
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "purchase",
    "email_open",
    "email_click",
    "login",
}
EMAIL_RE = re.compile(r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$")
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def _run(root: Path, **kwargs) -> tuple[Path, Path, dict]:
    workers = kwargs.pop("workers", 1)
    config = GeneratorConfig(**kwargs)
    out, truth = root / "landing", root / "truth"
    manifest = generate(config, out, truth, workers=workers, memory_limit=MEMORY_LIMIT)
    return out, truth, manifest


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


@lru_cache(maxsize=32)
def _rows(out: Path, table: str) -> list[dict[str, str]]:
    """All well-formed rows of a table across its part files, as dicts (with file/row)."""
    pattern, columns = CONTRACT[table]
    rows = []
    for path in sorted(out.glob(pattern)):
        header, data = _read_csv(path)
        for number, values in enumerate(data, start=1):
            if len(values) == len(columns):
                rows.append(
                    dict(zip(header, values, strict=True))
                    | {"_file": path.relative_to(out).as_posix(), "_row": number}
                )
    return rows


@lru_cache(maxsize=8)
def _events(out: Path) -> list[dict]:
    events = []
    for path in sorted(out.glob("web/events_*.ndjson.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            events.extend(json.loads(line) for line in f)
    return events


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    return _run(tmp_path_factory.mktemp("sample"), customers=2000, seed=7)


@pytest.fixture(scope="module")
def clean_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    return _run(tmp_path_factory.mktemp("clean"), customers=600, seed=11, invalid_rate=0.0)


@pytest.fixture(scope="module")
def invalid_index(sample) -> dict[tuple[str, str], str]:
    _, truth, _ = sample
    _, rows = _read_csv(truth / "invalid_rows.csv")
    return {(r[0], r[2]): r[3] for r in rows}


# --------------------------------------------------------------------------- reproducibility


def test_same_arguments_give_identical_bytes_in_any_number_of_processes(tmp_path: Path) -> None:
    args = {"customers": 500, "seed": 3, "chunk_size": 200}
    out_a, truth_a, _ = _run(tmp_path / "a", **args)
    out_b, truth_b, _ = _run(tmp_path / "b", workers=2, **args)
    assert _digest(out_a) == _digest(out_b)
    assert _digest(truth_a) == _digest(truth_b)
    # Three chunks -> three parts per source, one catalogue.
    assert len(list(out_a.glob("crm/contacts_2026-11-01_part*.csv"))) == 3
    assert len(list(out_a.glob("catalog/*.csv"))) == 1


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    out_a, _, _ = _run(tmp_path / "a", customers=300, seed=1)
    out_b, _, _ = _run(tmp_path / "b", customers=300, seed=2)
    digest_a, digest_b = _digest(out_a), _digest(out_b)
    assert digest_a.keys() == digest_b.keys()
    differing = [k for k in digest_a if digest_a[k] != digest_b[k] and "catalog" not in k]
    assert len(differing) == len(digest_a) - 1


def test_rerun_into_the_same_folder_leaves_no_stale_parts(tmp_path: Path) -> None:
    _run(tmp_path, customers=400, seed=1, chunk_size=200)
    out, _, _ = _run(tmp_path, customers=300, seed=1)
    assert [p.name for p in out.glob("crm/*")] == ["contacts_2026-11-01.csv"]


# --------------------------------------------------------------------------- contract


def test_every_csv_source_has_the_contract_columns_and_is_readable(sample) -> None:
    out, _, manifest = sample
    con = duckdb.connect()
    for table, (pattern, columns) in CONTRACT.items():
        paths = sorted(out.glob(pattern))
        assert [p.relative_to(out).as_posix() for p in paths] == manifest["files"][table]
        for path in paths:
            header, _ = _read_csv(path)
            assert header == columns, path
            # DuckDB (the extract stage's reader) sees the same columns, as text.
            described = con.execute(
                "select column_name from (describe select * from read_csv(?, all_varchar=true,"
                " ignore_errors=true))",
                [str(path)],
            ).fetchall()
            assert [c for (c,) in described] == columns
        assert sum(len(_read_csv(p)[1]) for p in paths) == manifest["rows"][table]


def test_web_events_are_ndjson_with_contract_fields(sample) -> None:
    out, _, manifest = sample
    events = _events(out)
    assert len(events) == manifest["rows"]["web_events"]
    assert all(list(e) == WEB_FIELDS for e in events)
    assert all(set(e["properties"]) <= WEB_PROPERTIES for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    logins = [e for e in events if e["event_name"] == "login"]
    assert logins and all(e["anonymous_id"] and e["user_id"] for e in logins)
    assert {e["event_name"] for e in events} >= EVENT_NAMES
    # Abandoned carts carry a cart value; product views repeat products within a session.
    carts = [e for e in events if e["event_name"] == "add_to_cart"]
    assert all(e["properties"].get("cart_value", 0) > 0 for e in carts[:200])


def test_truth_files_follow_the_contract(sample) -> None:
    _, truth, manifest = sample
    header, records = _read_csv(truth / "records.csv")
    assert header == ["source_system", "source_record_id", "person_id"]
    assert {r[0] for r in records} == {
        "crm",
        "loyalty",
        "shop",
        "support",
        "web_user",
        "web_anonymous",
    }
    assert len({(r[0], r[1]) for r in records}) == len(records)
    header, people = _read_csv(truth / "people.csv")
    assert header == ["person_id", "household_id", "churned", "churned_at", "segment_profile"]
    assert len(people) == manifest["people"] == 2000
    assert (truth / "churn_cutoff.txt").read_text().strip() == "2026-08-03T00:00:00Z"
    assert manifest["churned_people"] == sum(p[2] == "true" for p in people) > 0


def test_every_person_bearing_source_record_is_in_the_truth(sample) -> None:
    out, truth, _ = sample
    _, records = _read_csv(truth / "records.csv")
    known = {(r[0], r[1]) for r in records}
    expected: set[tuple[str, str]] = set()
    for table, system, key in (
        ("crm_contacts", "crm", "crm_id"),
        ("pos_loyalty_members", "loyalty", "loyalty_id"),
        ("shop_orders", "shop", "order_id"),
        ("support_tickets", "support", "ticket_id"),
        ("shop_orders", "web_user", "user_id"),
        ("shop_orders", "crm", "crm_id"),
    ):
        expected |= {(system, r[key]) for r in _rows(out, table) if r[key]}
    for event in _events(out):
        if event["anonymous_id"]:
            expected.add(("web_anonymous", event["anonymous_id"]))
        if event["user_id"]:
            expected.add(("web_user", event["user_id"]))
    loyalty_in_pos = {r["loyalty_id"] for r in _rows(out, "pos_transactions") if r["loyalty_id"]}
    expected |= {("loyalty", lid) for lid in loyalty_in_pos}
    missing = expected - known
    assert not missing, sorted(missing)[:5]


# --------------------------------------------------------------------------- messiness


def test_messiness_rates_are_close_to_configuration(sample) -> None:
    _, _, manifest = sample
    config = GeneratorConfig(customers=1)
    mess = config.messiness
    crm = manifest["messiness"]["crm"]["rates"]
    shop = manifest["messiness"]["shop"]["rates"]
    for rates in (crm, shop):
        assert rates["name_typo"] == pytest.approx(mess.typo_rate, abs=0.015)
        assert 0.02 < rates["nickname"] <= mess.nickname_rate + 0.02
        assert rates["swapped_names"] == pytest.approx(mess.swapped_names_rate, abs=0.01)
        assert rates["email_variants"] == pytest.approx(mess.email_variant_rate, abs=0.03)
        assert rates["phone_not_e164"] == pytest.approx(0.7, abs=0.05)
    assert crm["email_missing"] == pytest.approx(mess.missing_field_rate, abs=0.02)
    assert manifest["messiness"]["crm"]["counts"]["duplicate_contacts"] > 0
    assert manifest["messiness"]["web"]["shared_devices"] > 0


def test_records_show_the_mess_a_user_would_see(sample) -> None:
    out, _, _ = sample
    crm = _rows(out, "crm_contacts")
    phones = [r["phone"] for r in crm if r["phone"]]
    assert any(p.startswith("+44 ") for p in phones)
    assert any(p.startswith("0044") for p in phones)
    assert any(p.startswith("07") for p in phones)
    assert any(re.fullmatch(r"\+\d{8,15}", p) for p in phones)
    names = {r["first_name"] for r in crm} | {r["last_name"] for r in crm}
    assert any(not n.isascii() for n in names)  # Zoë, Müller, Łukasz…
    assert {"Bill", "Bob", "Liz", "Kate"} & names
    emails = [r["email"] for r in crm if r["email"]]
    assert any(e != e.lower() for e in emails)
    assert any("+" in e.split("@")[0] for e in emails)
    shop = _rows(out, "shop_orders")
    offsets = [r["ordered_at"] for r in shop if not r["ordered_at"].endswith("Z")]
    assert offsets and all(re.search(r"[+-]\d\d:\d\d$", t) for t in offsets)


def test_generic_addresses_are_shared_by_unrelated_people(sample) -> None:
    out, truth, _ = sample
    _, records = _read_csv(truth / "records.csv")
    person = {(r[0], r[1]): r[2] for r in records}
    people_by_email: dict[str, set[str]] = {}
    for r in _rows(out, "crm_contacts"):
        people_by_email.setdefault(r["email"], set()).add(person[("crm", r["crm_id"])])
    for r in _rows(out, "shop_orders"):
        people_by_email.setdefault(r["customer_email"], set()).add(person[("shop", r["order_id"])])
    generic = {e: p for e, p in people_by_email.items() if e in GENERIC_EMAILS}
    assert generic and max(len(p) for p in generic.values()) >= 2


def _mailbox(email: str) -> str:
    """An address as a mail server sees it: case, spaces, plus tags and dots do not matter."""
    local, _, domain = email.strip().lower().partition("@")
    domain = "gmail.com" if domain == "googlemail.com" else domain
    return local.split("+")[0].replace(".", "") + "@" + domain


def test_apart_from_generic_ones_no_two_people_share_a_mailbox(sample) -> None:
    """Two people with the same common name still own different addresses (as real mailboxes
    do); otherwise an exact email match would be wrong evidence planted by the generator."""
    out, truth, _ = sample
    _, records = _read_csv(truth / "records.csv")
    person = {(r[0], r[1]): r[2] for r in records}
    generic = {_mailbox(e) for e in GENERIC_EMAILS}
    people_by_mailbox: dict[str, set[str]] = {}
    for table, email_column, key, system in (
        ("crm_contacts", "email", "crm_id", "crm"),
        ("shop_orders", "customer_email", "order_id", "shop"),
    ):
        for r in _rows(out, table):
            mailbox = _mailbox(r[email_column])
            if EMAIL_RE.match(mailbox) and mailbox not in generic:
                people_by_mailbox.setdefault(mailbox, set()).add(person[(system, r[key])])
    shared = {m: p for m, p in people_by_mailbox.items() if len(p) > 1}
    assert len(people_by_mailbox) > 1000 and not shared
    numbers = mailbox_numbers(np.arange(1, 1_000_001), 1_000_000, salt=17)
    assert len(set(numbers.tolist())) == 1_000_000


def test_purchase_events_name_an_order_of_the_browsers_owner(sample) -> None:
    """A checkout, logged in or as a guest, happens in a browser and says which order it made:
    the stitch a CDP uses to identify a guest's browser."""
    out, truth, _ = sample
    _, records = _read_csv(truth / "records.csv")
    person = {(r[0], r[1]): r[2] for r in records}
    orders = {r["order_id"] for r in _rows(out, "shop_orders")}
    purchases = [e for e in _events(out) if e["event_name"] == "purchase"]
    named = [e for e in purchases if e["properties"].get("order_id") in orders]
    # an order whose CSV line was deliberately broken cannot be read back, nothing else
    assert purchases and len(named) / len(purchases) > 0.99
    assert any(e["user_id"] is None for e in purchases)  # guest checkouts
    same_person = sum(
        person[("shop", e["properties"]["order_id"])]
        == person[("web_anonymous", e["anonymous_id"])]
        for e in named
    )
    # only a borrowed household device (owned by another member) may disagree
    assert same_person / len(named) > 0.97


def test_email_clicks_land_in_one_of_the_readers_own_browsers(sample) -> None:
    out, truth, _ = sample
    _, records = _read_csv(truth / "records.csv")
    person = {(r[0], r[1]): r[2] for r in records}
    events = _events(out)
    clicks = [e for e in events if e["event_name"] == "email_click"]
    opens = [e for e in events if e["event_name"] == "email_open"]
    assert clicks and all(e["anonymous_id"] and e["user_id"] for e in clicks)
    assert opens and all(e["anonymous_id"] is None for e in opens)
    assert all(
        person[("web_anonymous", e["anonymous_id"])] == person[("web_user", e["user_id"])]
        for e in clicks
    )


def test_a_shared_household_device_is_logged_into_by_two_accounts(sample) -> None:
    out, truth, _ = sample
    users_by_device: dict[str, set[str]] = {}
    for e in _events(out):
        if e["event_name"] == "login":
            users_by_device.setdefault(e["anonymous_id"], set()).add(e["user_id"])
    shared = [d for d, users in users_by_device.items() if len(users) > 1]
    assert shared
    _, records = _read_csv(truth / "records.csv")
    person = {(r[0], r[1]): r[2] for r in records}
    _, people = _read_csv(truth / "people.csv")
    household = {p[0]: p[1] for p in people}
    for device in shared:
        owners = {person[("web_user", u)] for u in users_by_device[device]}
        assert len(owners) == 2
        assert len({household[o] for o in owners}) == 1


# --------------------------------------------------------------------------- churn


def _person_activity(out: Path, truth: Path, invalid_index) -> list[tuple[str, datetime]]:
    """(person, time) of every valid order, ticket, card-shown till sale and logged-in event."""
    _, records = _read_csv(truth / "records.csv")
    person = {(r[0], r[1]): r[2] for r in records}
    activity: list[tuple[str, datetime]] = []
    for r in _rows(out, "shop_orders"):
        if (r["_file"], r["order_id"]) not in invalid_index:
            activity.append((person[("shop", r["order_id"])], _ts(r["ordered_at"])))
    for r in _rows(out, "support_tickets"):
        if (r["_file"], r["ticket_id"]) not in invalid_index:
            activity.append((person[("support", r["ticket_id"])], _ts(r["opened_at"])))
    for r in _rows(out, "pos_transactions"):
        key = f"{r['transaction_id']}:{r['line_number']}"
        if r["loyalty_id"] and (r["_file"], key) not in invalid_index:
            activity.append((person[("loyalty", r["loyalty_id"])], _ts(r["transacted_at"])))
    events_file = next(out.glob("web/events_*.ndjson.gz")).relative_to(out).as_posix()
    for e in _events(out):
        if e["user_id"] and (events_file, e["event_id"]) not in invalid_index:
            activity.append((person[("web_user", e["user_id"])], _ts(e["occurred_at"])))
    return activity


def test_a_leavers_activity_stops_on_the_day_they_leave(sample, invalid_index) -> None:
    out, truth, _ = sample
    cutoff = _ts((truth / "churn_cutoff.txt").read_text().strip())
    _, people = _read_csv(truth / "people.csv")
    left_at = {p[0]: _ts(p[3]) for p in people if p[2] == "true"}
    assert left_at
    activity = _person_activity(out, truth, invalid_index)
    # a complaint or an e-mail click may come within the hour of the last day, never later
    late = [(p, t) for p, t in activity if p in left_at and t > left_at[p] + timedelta(hours=1)]
    assert not late, late[:5]
    # leaving is spread over time: some people leave within the churn horizon after the cutoff
    assert sum(t >= cutoff for t in left_at.values()) > 0.05 * len(left_at)
    # Active people do keep showing up after the cutoff.
    recent = {p for p, t in activity if t >= cutoff}
    assert len(recent - set(left_at)) > 0.3 * (len(people) - len(left_at))


def test_leavers_fade_before_they_leave(sample, invalid_index) -> None:
    """Per day, leavers are far less active in their last 90 days than in the 275 before
    (the warning signs a churn model reads); people who stay are about as active as ever."""
    out, truth, _ = sample
    _, people = _read_csv(truth / "people.csv")
    left_at = {p[0]: _ts(p[3]) for p in people if p[2] == "true"}
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    times: dict[str, list[datetime]] = {}
    for p, t in _person_activity(out, truth, invalid_index):
        times.setdefault(p, []).append(t)
    last, before = Counter(), Counter()
    for p, seen in times.items():
        end = left_at.get(p, as_of)
        if min(seen) > end - timedelta(days=365):
            continue  # not a customer for a whole year before the end
        group = "left" if p in left_at else "stayed"
        last[group] += sum(end - timedelta(days=90) <= t < end for t in seen) / 90
        before[group] += (
            sum(end - timedelta(days=365) <= t < end - timedelta(days=90) for t in seen) / 275
        )
    assert last["left"] < 0.75 * before["left"]
    assert last["stayed"] > 0.85 * before["stayed"]


def test_nothing_valid_happens_after_as_of(clean_sample) -> None:
    out, _, manifest = clean_sample
    assert all(v["rows"] == 0 for v in manifest["invalid_rows"].values())
    times = [_ts(r["ordered_at"]) for r in _rows(out, "shop_orders")]
    times += [_ts(e["occurred_at"]) for e in _events(out)]
    assert max(times) <= AS_OF + timedelta(hours=2)
    assert min(times) >= AS_OF - timedelta(days=4 * 365 + 1)


def test_seasonality_peaks_in_november_and_december(sample) -> None:
    out, _, _ = sample
    by_month = [0] * 12
    for r in _rows(out, "shop_orders"):
        ordered = _ts(r["ordered_at"])
        if ordered.year == 2025:
            by_month[ordered.month - 1] += 1
    assert min(by_month[10], by_month[11]) > 1.3 * (sum(by_month[1:9]) / 8)


# --------------------------------------------------------------------------- invalid rows


def test_invalid_rows_are_injected_at_the_configured_rate(sample) -> None:
    _, truth, manifest = sample
    _, faults = _read_csv(truth / "invalid_rows.csv")
    assert len(faults) == sum(v["rows"] for v in manifest["invalid_rows"].values())
    for table in ("shop_orders", "shop_order_lines", "pos_transactions", "web_events"):
        entry = manifest["invalid_rows"][table]
        assert entry["rate"] == pytest.approx(0.01, rel=0.35), table
    rules = {f[3] for f in faults}
    assert rules >= {
        "bad_email",
        "negative_amount",
        "non_numeric_amount",
        "future_date",
        "unknown_status",
        "unknown_event_name",
        "broken_line",
        "negative_quantity",
    }


def test_listed_invalid_rows_break_their_rule_and_the_rest_do_not(sample, invalid_index) -> None:
    out, _, _ = sample
    columns = CONTRACT["shop_orders"][1]
    for path in sorted(out.glob("shop/orders_*.csv")):
        rel = path.relative_to(out).as_posix()
        text = path.read_text(encoding="utf-8")
        for values in list(csv.reader(io.StringIO(text)))[1:]:
            rule = invalid_index.get((rel, values[0]))
            if rule == "broken_line":
                assert len(values) != len(columns)
                continue
            assert len(values) == len(columns)
            row = dict(zip(columns, values, strict=True))
            statuses_ok = row["status"] in {"completed", "cancelled", "returned"}
            email_ok = not row["customer_email"] or EMAIL_RE.match(row["customer_email"])
            amount_ok = re.fullmatch(r"\d+\.\d\d", row["shipping_amount"]) is not None
            date_ok = _ts(row["ordered_at"]) <= AS_OF + timedelta(days=365)
            assert statuses_ok == (rule != "unknown_status"), row
            assert bool(email_ok) == (rule != "bad_email"), row
            assert amount_ok == (rule not in {"negative_amount", "non_numeric_amount"}), row
            assert date_ok == (rule != "future_date"), row
    events_file = next(out.glob("web/events_*.ndjson.gz")).relative_to(out).as_posix()
    for e in _events(out):
        rule = invalid_index.get((events_file, e["event_id"]))
        assert (e["event_name"] in EVENT_NAMES) == (rule != "unknown_event_name")


def test_pos_returns_are_negative_quantities_but_not_invalid(sample, invalid_index) -> None:
    out, _, _ = sample
    returns = [r for r in _rows(out, "pos_transactions") if r["quantity"].startswith("-")]
    assert returns
    flagged = [
        r
        for r in returns
        if (r["_file"], f"{r['transaction_id']}:{r['line_number']}") in invalid_index
    ]
    assert len(flagged) < 0.1 * len(returns)


@pytest.mark.parametrize("customers", [1, 2, 5])
def test_tiny_runs_still_write_every_source(tmp_path: Path, customers: int) -> None:
    out, _, manifest = _run(tmp_path, customers=customers, seed=customers, chunk_size=100)
    assert manifest["people"] == customers
    for table, (pattern, columns) in CONTRACT.items():
        (path,) = out.glob(pattern)
        assert _read_csv(path)[0] == columns, table
    assert len(list(out.glob("web/events_*.ndjson.gz"))) == 1


# --------------------------------------------------------------------------- CLI


def test_cli_writes_a_sample_and_rejects_bad_arguments(tmp_path: Path, run_cli) -> None:
    out, truth = tmp_path / "out", tmp_path / "truth"
    argv = ["sample", "--customers", "200", "--seed", "5", "--out", out, "--truth-out", truth]
    written = run_cli(*argv, "--as-of", "2026-11-01T00:00:00Z", "--invalid-rate", "0.02")
    assert written.exit_code == 0, written.output
    assert (truth / "manifest.json").exists()
    assert json.loads((truth / "manifest.json").read_text())["config"]["invalid_rate"] == 0.02
    none = run_cli("sample", "--customers", "0", "--out", out, "--truth-out", truth)
    assert none.exit_code == 2 and "--customers must be at least 1" in none.stderr
    undated = run_cli(*argv, "--as-of", "yesterday")
    assert undated.exit_code == 2 and "not an ISO 8601 timestamp" in undated.stderr

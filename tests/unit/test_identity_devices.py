"""Browsers that two people used: a shared device must not merge a household.

A household member (the borrower) logs in on the head's laptop; the head checks out as a
guest from it. The browser's login points at the borrower, its purchase at the head: linked
both ways it would make the two one customer. Each test builds `int_person_records_unioned`
rows in an in-memory DuckDB and resolves them with deterministic links only.
"""

import duckdb

from python_models.identity.config import IdentityConfig
from python_models.identity.deterministic import INPUT_COLUMNS
from python_models.identity.pipeline import resolve_identities

LIST_COLUMNS = ("linked_user_ids", "linked_anonymous_ids")


def resolve(records: list[dict], config: IdentityConfig | None = None):
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_person_records_unioned ("
        + ", ".join(f"{c} VARCHAR" for c in INPUT_COLUMNS)
        + ", linked_user_ids VARCHAR[], linked_anonymous_ids VARCHAR[])"
    )
    columns = (*INPUT_COLUMNS, *LIST_COLUMNS)
    con.executemany(
        "insert into intermediate.int_person_records_unioned values "
        f"({', '.join('?' for _ in columns)})",
        [[record.get(c) for c in columns] for record in records],
    )
    report = resolve_identities(con, "r1", "2026-11-01T00:00:00Z", config=config, fuzzy_linker=None)
    return con, report


def rec(source: str, record_id: str, **fields) -> dict:
    return {"source_system": source, "source_record_id": record_id, **fields}


def customer_of(con) -> dict[str, str]:
    rows = con.execute(
        "select source_system || ':' || source_record_id, customer_key from identity.identity_graph"
    ).fetchall()
    return dict(rows)


def same(con, *records: str) -> bool:
    customers = customer_of(con)
    return len({customers[r] for r in records}) == 1


def account_holder(user: str, given: str, email: str, birth: str | None = None) -> list[dict]:
    """A web account, an order placed while logged in, and a loyalty card."""
    return [
        rec("web_user", user, user_id=user),
        rec("shop", f"{user}-o1", user_id=user, given_name=given, family_name="Bos", email=email),
        rec("loyalty", f"{user}-l1", given_name=given, family_name="Bos", email=email,
            birth_date=birth),
    ]  # fmt: skip


HOUSEHOLD = [
    # the head: own account; checks out as a guest from the family laptop A1
    *account_holder("U1", "Cornelis", "cornelis.bos@kpnmail.nl", "1961-03-14"),
    rec("shop", "guest-o2", given_name="Cornelis", family_name="Bos",
        email="cornelis.bos@kpnmail.nl", linked_anonymous_ids=["A1"]),
    # the borrower: own account; only ever logs in on A1
    *account_holder("U2", "Daan", "daanbos@outlook.com", "1994-08-02"),
    rec("web_anonymous", "A1", anonymous_id="A1", linked_user_ids=["U2"]),
]  # fmt: skip


def test_household_borrower_login_and_head_guest_checkout_do_not_merge():
    con, report = resolve(HOUSEHOLD)

    assert same(con, "web_user:U1", "shop:U1-o1", "loyalty:U1-l1", "shop:guest-o2")
    assert same(con, "web_user:U2", "shop:U2-o1", "loyalty:U2-l1")
    assert not same(con, "web_user:U1", "web_user:U2")
    # the laptop is neither's: it stays a customer of its own
    assert not same(con, "web_anonymous:A1", "web_user:U2")
    assert not same(con, "web_anonymous:A1", "shop:guest-o2")
    assert report.shared_devices == 1


def test_the_rejected_browser_is_recorded_with_its_reason():
    con, _ = resolve(HOUSEHOLD)

    rows = con.execute(
        "select left_record_id, right_record_id, rule, evidence->>'rejected_because', "
        "coalesce(evidence->>'shared_device_user_id', evidence->>'device') "
        "from identity.identity_links where decision = 'rejected' order by rule"
    ).fetchall()
    # both the login (to the borrower's account) and the purchase (the head's guest order)
    assert rows == [
        ("U2-o1", "A1", "anonymous_login", "shared_device: login_and_purchases_conflict", "U2"),
        (
            "guest-o2",
            "A1",
            "anonymous_purchase",
            "shared_device: login_and_purchases_conflict",
            "A1",
        ),
    ]
    accepted = con.execute(
        "select count(*) from identity.identity_links where decision = 'auto_link' "
        "and 'A1' in (left_record_id, right_record_id)"
    ).fetchone()[0]
    assert accepted == 0


def test_one_customer_logging_in_and_checking_out_as_guest_still_links_the_browser():
    con, report = resolve(
        [
            *account_holder("U1", "Cornelis", "cornelis.bos@kpnmail.nl", "1961-03-14"),
            rec("shop", "guest-o2", given_name="Cornelis", family_name="Bos",
                email="cornelis.bos@kpnmail.nl", linked_anonymous_ids=["A1"]),
            rec("web_anonymous", "A1", anonymous_id="A1", linked_user_ids=["U1"]),
        ]
    )  # fmt: skip

    assert same(con, "web_user:U1", "shop:guest-o2", "web_anonymous:A1", "loyalty:U1-l1")
    assert report.shared_devices == 0
    assert report.links_by_rule["anonymous_login"] >= 1


def test_a_guest_order_with_a_mistyped_mailbox_still_links_through_the_browser():
    # the guest order joins nothing else; one typo in a mailbox is the same mailbox
    con, report = resolve(
        [
            *account_holder("U1", "Cornelis", "cornelis.bos@kpnmail.nl"),
            rec("shop", "guest-o2", given_name="Cornelis", family_name="Bos",
                email="cornelis.bso@kpnmail.nl", linked_anonymous_ids=["A1"]),
            rec("web_anonymous", "A1", anonymous_id="A1", linked_user_ids=["U1"]),
        ]
    )  # fmt: skip

    assert same(con, "web_user:U1", "shop:guest-o2", "web_anonymous:A1")
    assert report.shared_devices == 0


def test_a_browser_two_account_holders_checked_out_from_links_neither():
    # twins of similar given names: the name check cannot tell them apart, their accounts can
    con, report = resolve(
        [
            *account_holder("U1", "Anna", "anna.bos@gmail.com"),
            *account_holder("U2", "Anne", "anne.bos@gmail.com"),
            rec("shop", "guest-a", given_name="Anna", family_name="Bos",
                email="anna.bos@gmail.com", linked_anonymous_ids=["A1"]),
            rec("shop", "guest-b", given_name="Anne", family_name="Bos",
                email="anne.bos@gmail.com", linked_anonymous_ids=["A1"]),
            rec("web_anonymous", "A1", anonymous_id="A1"),
        ]
    )  # fmt: skip

    assert not same(con, "web_user:U1", "web_user:U2")
    assert not same(con, "web_anonymous:A1", "shop:guest-a")
    assert not same(con, "web_anonymous:A1", "shop:guest-b")
    assert report.links_by_rule.get("anonymous_purchase", 0) == 0


def test_the_check_can_be_switched_off():
    con, report = resolve(HOUSEHOLD, IdentityConfig(browser_conflicts=()))

    # without it the laptop joins the head and the borrower into one customer
    assert same(con, "web_user:U1", "web_user:U2", "web_anonymous:A1")
    assert report.shared_devices == 0


def test_the_browser_is_kept_out_even_without_the_identifier_conflict_check():
    con, report = resolve(HOUSEHOLD, IdentityConfig(identifier_link_conflicts=()))

    assert not same(con, "web_user:U1", "web_user:U2")
    assert not same(con, "web_anonymous:A1", "web_user:U2")
    assert report.shared_devices == 1

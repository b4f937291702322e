"""Deterministic links and over-merge guards, on small hand-made person records.

Each test builds an `int_person_records_unioned`-shaped table in an in-memory DuckDB, runs
`resolve_identities` with deterministic links only (no fuzzy matcher) and checks which
records end up as one customer.
"""

import json

import duckdb
import pandas as pd
import pytest

from python_models.identity.config import IdentityConfig, MatchConfig
from python_models.identity.deterministic import INPUT_COLUMNS as COLUMNS
from python_models.identity.pipeline import resolve_identities

AS_OF = "2026-11-01T00:00:00Z"


def make_input(con: duckdb.DuckDBPyConnection, records: list[dict]) -> None:
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create or replace table intermediate.int_person_records_unioned ("
        + ", ".join(f"{c} VARCHAR" for c in COLUMNS)
        + ", linked_user_ids VARCHAR[], linked_anonymous_ids VARCHAR[])"
    )
    lists = ("linked_user_ids", "linked_anonymous_ids")
    for record in records:
        unknown = set(record) - set(COLUMNS) - set(lists)
        assert not unknown, unknown
        row = [record.get(c) for c in (*COLUMNS, *lists)]
        con.execute(
            "insert into intermediate.int_person_records_unioned values "
            f"({', '.join('?' for _ in row)})",
            row,
        )


def rec(source: str, rid: str, **fields) -> dict:
    return {"source_system": source, "source_record_id": rid, **fields}


def resolve(records: list[dict], config: IdentityConfig | None = None, con=None, run="r1"):
    con = con or duckdb.connect()
    make_input(con, records)
    report = resolve_identities(con, run, AS_OF, config=config, fuzzy_linker=None)
    return con, report


def keys(con) -> dict[str, str]:
    rows = con.execute(
        "select source_system || ':' || source_record_id, customer_key from identity.identity_graph"
    ).fetchall()
    return dict(rows)


def same(con, *records: str) -> bool:
    k = keys(con)
    return len({k[r] for r in records}) == 1


def test_plus_addressing_gmail_dots_and_case_link_one_mailbox():
    con, report = resolve(
        [
            rec("crm", "1", given_name="Anna", email="anna.berg@gmail.com"),
            rec("shop", "o1", given_name="Anna", email="AnnaBerg+sale@googlemail.com"),
            rec("support", "t1", email=" anna.berg@GMAIL.com "),
            rec("loyalty", "l1", given_name="Anna", email="anna.berg+x@outlook.com"),
            rec("loyalty", "l2", given_name="Anna", email="annaberg@outlook.com"),
        ]
    )
    assert same(con, "crm:1", "shop:o1", "support:t1")
    # dots only matter outside Gmail
    assert not same(con, "loyalty:l1", "loyalty:l2")
    assert report.links_by_rule == {"email_exact": 2}


def test_gmail_dot_rule_can_be_switched_off():
    config = IdentityConfig(matching=MatchConfig(gmail_dot_rule=False))
    con, _ = resolve(
        [
            rec("crm", "1", email="anna.berg@gmail.com"),
            rec("shop", "o1", email="annaberg@gmail.com"),
        ],
        config,
    )
    assert not same(con, "crm:1", "shop:o1")


def test_links_are_a_star_to_the_smallest_record_not_all_pairs():
    con, report = resolve(
        [rec("shop", f"o{i}", given_name="Bo", email="bo@x.com") for i in range(6)]
        + [rec("crm", "9", given_name="Bo", email="bo@x.com")]
    )
    links = con.execute(
        "select left_source_system || ':' || left_record_id, count(*) "
        "from identity.identity_links group by 1"
    ).fetchall()
    assert links == [("crm:9", 6)]
    assert report.clusters == 1


def test_generic_addresses_never_link_on_their_own():
    _, report = resolve(
        [
            rec("support", "t1", email="info@acme.com"),
            rec("support", "t2", email="INFO@acme.com"),
            rec("shop", "o1", given_name="Al", email="noreply@shop.com"),
            rec("shop", "o2", given_name="Al", email="noreply@shop.com"),
            rec("crm", "1", email="someone@example.com"),
            rec("crm", "2", email="someone@example.com"),
        ]
    )
    assert report.clusters == 6
    assert report.links_by_rule == {}


def test_household_phone_is_not_sole_evidence_but_one_persons_phone_is():
    con, report = resolve(
        [
            # a family landline: two people, different names and birth dates
            rec(
                "crm",
                "1",
                given_name="John",
                family_name="Smith",
                phone="+442071234567",
                birth_date="1970-03-01",
            ),
            rec(
                "crm",
                "2",
                given_name="Mary",
                family_name="Smith",
                phone="+442071234567",
                birth_date="1972-08-09",
            ),
            # one person with a typo in the name and a day/month swap: still one person
            rec("crm", "3", given_name="Jonathan", phone="+447700900001", birth_date="1980-04-05"),
            rec(
                "loyalty",
                "l3",
                given_name="Jonathon",
                phone="+44 7700 900001",
                birth_date="1980-05-04",
            ),
            rec("shop", "o3", given_name="J", phone="+447700900001"),
        ]
    )
    assert not same(con, "crm:1", "crm:2")
    assert same(con, "crm:3", "loyalty:l3", "shop:o3")
    assert report.shared_values == 1


def test_ids_link_across_sources():
    con, report = resolve(
        [
            rec("crm", "C1", crm_id="C1", given_name="Eve"),
            rec("shop", "o1", crm_id="C1", user_id="U1"),
            rec("web_user", "U1", user_id="U1"),
            rec("loyalty", "L1", loyalty_id="L1", given_name="Eve", email="eve@x.org"),
            rec("support", "t1", email="eve@x.org"),
            rec("web_anonymous", "A1", anonymous_id="A1", linked_user_ids=["U1"]),
            rec("web_anonymous", "A2", anonymous_id="A2", linked_user_ids=[]),
        ]
    )
    assert same(con, "crm:C1", "shop:o1", "web_user:U1", "web_anonymous:A1")
    assert same(con, "loyalty:L1", "support:t1")
    assert not same(con, "crm:C1", "loyalty:L1")
    assert not same(con, "web_anonymous:A2", "web_user:U1")
    assert report.links_by_rule == {
        "anonymous_login": 1,
        "crm_id": 1,
        "email_exact": 1,
        "web_user_id": 1,
    }


def test_shared_device_joins_no_one_and_is_recorded_as_rejected():
    con, report = resolve(
        [
            rec("web_user", "U1", user_id="U1"),
            rec("web_user", "U2", user_id="U2"),
            rec("web_anonymous", "A1", anonymous_id="A1", linked_user_ids=["U1", "U2", "U1"]),
        ]
    )
    assert report.clusters == 3
    assert report.shared_devices == 1
    rejected = con.execute(
        "select left_record_id, decision, evidence->>'shared_device_user_id' "
        "from identity.identity_links order by 3"
    ).fetchall()
    assert rejected == [("A1", "rejected", "U1"), ("A1", "rejected", "U2")]


def test_a_guest_checkout_identifies_the_browser_it_was_placed_from():
    con, report = resolve(
        [
            rec("shop", "o1", given_name="Eve", family_name="Ng", email="eve@x.org"),
            rec("shop", "o2", given_name="Eve", family_name="Ng", linked_anonymous_ids=["A1"]),
            rec("support", "t1", email="eve@x.org"),
            rec("web_anonymous", "A1", anonymous_id="A1"),
            rec("web_anonymous", "A2", anonymous_id="A2"),
        ]
    )
    assert same(con, "web_anonymous:A1", "shop:o2")
    assert not same(con, "web_anonymous:A2", "shop:o2")
    assert report.links_by_rule["anonymous_purchase"] == 1


def test_a_browser_two_different_people_bought_from_joins_neither():
    con, _ = resolve(
        [
            rec("shop", "o1", given_name="Eve", family_name="Ng", linked_anonymous_ids=["A1"]),
            rec("shop", "o2", given_name="Tom", family_name="Ng", linked_anonymous_ids=["A1"]),
            rec("web_anonymous", "A1", anonymous_id="A1"),
        ]
    )
    assert not same(con, "shop:o1", "shop:o2")


def test_a_shared_login_device_is_not_attributed_through_its_purchases_either():
    con, _ = resolve(
        [
            rec("web_user", "U1", user_id="U1"),
            rec("web_user", "U2", user_id="U2"),
            rec("shop", "o1", given_name="Eve", linked_anonymous_ids=["A1"]),
            rec("web_anonymous", "A1", anonymous_id="A1", linked_user_ids=["U1", "U2"]),
        ]
    )
    assert not same(con, "shop:o1", "web_anonymous:A1")


def test_cluster_with_too_many_people_goes_to_review_instead_of_merging():
    # a shop's till email shared by many customers slips through as one person's address
    # (each variant appears once, so no single value looks shared), chaining five people
    chain = [
        rec("crm", str(i), given_name=name, email=f"p{i}@x.com", phone=f"+4477009000{i:02d}")
        for i, name in enumerate(["Ann", "Bob", "Cyd", "Dee", "Eli"])
    ]
    bridges = [
        rec("shop", f"o{i}", given_name=None, email=f"p{i}@x.com", phone=f"+4477009000{i + 1:02d}")
        for i in range(4)
    ]
    con, report = resolve(chain + bridges, IdentityConfig(max_cluster_names=3))
    assert report.guarded_clusters == 1
    assert len(set(keys(con).values())) == 9
    queue = con.execute("select distinct reason from identity.identity_review_queue").fetchall()
    assert queue == [("cluster_limit: 5 distinct given names > 3",)]
    decisions = dict(
        con.execute("select decision, count(*) from identity.identity_links group by 1").fetchall()
    )
    assert decisions == {"review": 8}


def test_record_limit_keeps_deterministic_core_when_fuzzy_links_overgrow():
    con = duckdb.connect()
    records = [rec("shop", f"o{i}", given_name="Kim", email="kim@x.com") for i in range(4)]
    records += [rec("crm", "1", given_name="Kim"), rec("crm", "2", given_name="Kim")]
    make_input(con, records)

    def fuzzy(con, table):
        # the matcher glues both crm records onto the shop cluster
        return con.sql(
            f"select a.record_id as left_id, b.record_id as right_id, 12.0 as match_weight, "
            f"0.99 as match_probability, '{{}}' as evidence, 'auto_link' as decision "
            f"from {table} a, {table} b where a.source_system = 'crm' and b.source_system = 'shop' "
            f"and b.record_id = (select min(record_id) from {table} where source_system = 'shop')"
        )

    report = resolve_identities(
        con, "r1", AS_OF, config=IdentityConfig(max_cluster_records=4), fuzzy_linker=fuzzy
    )
    assert report.guarded_clusters == 1
    assert same(con, "shop:o0", "shop:o1", "shop:o2", "shop:o3")
    assert not same(con, "crm:1", "shop:o0")
    reasons = con.execute("select distinct reason from identity.identity_review_queue").fetchall()
    assert reasons == [("cluster_limit: 6 records > 4",)]


def test_fuzzy_links_join_clusters_and_review_pairs_are_queued():
    con = duckdb.connect()
    make_input(
        con,
        [
            rec("crm", "1", given_name="Zoe", family_name="Lane", postcode="AB1 2CD"),
            rec("loyalty", "L1", given_name="Zoey", family_name="Lane", postcode="AB1 2CD"),
            rec("support", "t1", email="zoe@lane.me"),
        ],
    )

    def fuzzy(con, table):
        ids = dict(con.execute(f"select source_system, record_id from {table}").fetchall())
        evidence = json.dumps({"given_name": "jaro_winkler_0.92"})
        return [
            {
                "left_id": str(ids["crm"]),
                "right_id": str(ids["loyalty"]),
                "match_weight": 14.2,
                "match_probability": 0.998,
                "evidence": evidence,
                "decision": "auto_link",
            },
            {
                "left_id": str(ids["support"]),
                "right_id": str(ids["crm"]),
                "match_weight": 2.0,
                "match_probability": 0.7,
                "evidence": "{}",
                "decision": "review",
            },
        ]

    report = resolve_identities(
        con, "r1", AS_OF, fuzzy_linker=lambda c, t: pd.DataFrame(fuzzy(c, t))
    )
    assert same(con, "crm:1", "loyalty:L1")
    assert not same(con, "crm:1", "support:t1")
    assert report.review_queue == 1
    graph = dict(
        con.execute(
            "select source_record_id, link_method || ' ' || confidence from identity.identity_graph"
        ).fetchall()
    )
    assert graph == {"1": "fuzzy 0.998", "L1": "fuzzy 0.998", "t1": "singleton 1.0"}


def test_every_record_gets_exactly_one_key_and_rerun_is_idempotent():
    records = [
        rec("crm", "1", email="a@b.com", given_name="A"),
        rec("shop", "2", email="a@b.com", given_name="A"),
        rec("support", "3", email="z@b.com"),
    ]
    con, _ = resolve(records)
    first = keys(con)
    links_before = con.execute("select count(*) from identity.identity_links").fetchall()
    _, report = resolve(records, con=con, run="r2")
    assert keys(con) == first
    assert report.merges == 0 and report.splits == 0 and report.new_keys == 0
    assert con.execute("select count(*) from identity.identity_links").fetchall() == links_before
    dupes = con.execute(
        "select count(*) from (select source_system, source_record_id from "
        "identity.identity_graph group by all having count(*) > 1)"
    ).fetchall()
    assert dupes == [(0,)]
    assert con.execute("select distinct last_run_id from identity.identity_graph").fetchall() == [
        ("r2",)
    ]


def test_duplicate_input_records_fail_loudly_and_write_nothing():
    con = duckdb.connect()
    make_input(con, [rec("crm", "1"), rec("crm", "1")])
    with pytest.raises(ValueError, match="crm:1 ×2"):
        resolve_identities(con, "r1", AS_OF, fuzzy_linker=None)
    assert con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'identity'"
    ).fetchall() == [(0,)]


def test_missing_contract_columns_are_named():
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_person_records_unioned as "
        "select 'crm' as source_system, '1' as source_record_id"
    )
    with pytest.raises(ValueError, match="given_name"):
        resolve_identities(con, "r1", AS_OF, fuzzy_linker=None)


def test_identical_repeat_orders_link_and_reach_the_matcher_once():
    con = duckdb.connect()
    order = {"given_name": "Ida", "family_name": "Holm", "street": "1 Elm St", "postcode": "N1"}
    make_input(
        con,
        [rec("shop", f"o{i}", **order) for i in range(5)]
        + [rec("shop", "x1", given_name="Ida"), rec("shop", "x2", given_name="Ida")],
    )
    seen: list[int] = []

    def counting_linker(con, table):
        seen.append(con.execute(f"select count(*) from {table}").fetchall()[0][0])
        return con.sql(
            "select '0' as left_id, '0' as right_id, 0.0 as match_weight, "
            "0.0 as match_probability, '{}' as evidence, 'review' as decision limit 0"
        )

    report = resolve_identities(con, "r1", AS_OF, fuzzy_linker=counting_linker)
    assert same(con, *(f"shop:o{i}" for i in range(5)))
    # a bare first name says too little to link on
    assert not same(con, "shop:x1", "shop:x2")
    assert report.links_by_rule == {"pii_exact": 4}
    assert seen == [3]


def test_fuzzy_link_between_two_web_accounts_or_different_birthdays_goes_to_review():
    con = duckdb.connect()
    make_input(
        con,
        [
            # father and son: same name and street, each with his own web account
            rec("shop", "o1", given_name="Ben", family_name="Jones", user_id="U1", postcode="L1"),
            rec("web_user", "U1", user_id="U1"),
            rec("shop", "o2", given_name="Ben", family_name="Jones", user_id="U2", postcode="L1"),
            rec("web_user", "U2", user_id="U2"),
            # two loyalty cards, same name, birth dates years apart
            rec("crm", "c1", given_name="Ann", family_name="Lee", birth_date="1950-01-01"),
            rec("crm", "c2", given_name="Ann", family_name="Lee", birth_date="1990-06-30"),
        ],
    )

    def overconfident(con, table):
        # links the two records of each given name, however different they are
        pairs = con.execute(
            f"select min(record_id), max(record_id) from {table} group by given_name"
        ).fetchall()
        return [
            {
                "left_id": str(a),
                "right_id": str(b),
                "match_weight": 20.0,
                "match_probability": 0.9999,
                "evidence": "{}",
                "decision": "auto_link",
            }
            for a, b in pairs
        ]

    report = resolve_identities(
        con, "r1", AS_OF, fuzzy_linker=lambda c, t: pd.DataFrame(overconfident(c, t))
    )
    assert not same(con, "shop:o1", "shop:o2")
    assert not same(con, "crm:c1", "crm:c2")
    reasons = dict(
        con.execute("select left_record_id, reason from identity.identity_review_queue").fetchall()
    )
    # a contradiction is decided by rule; two accounts may still be one person: a steward's call
    assert reasons == {"o1": "cluster_conflict: two_web_accounts"}
    assert report.links_by_decision["review"] == 1
    assert rejected_reasons(con) == {"c1": "fuzzy_veto: birth_date_conflict"}


def test_landline_of_two_namesakes_with_their_own_mailboxes_links_neither():
    # father and son of one name share the house phone; each has his own consumer mailbox
    namesakes = [
        rec("shop", "s1", given_name="Oliver", family_name="Williams", phone="+442017563969",
            email="oliver.williams@btinternet.com"),
        rec("shop", "s2", given_name="Oliver", family_name="Williams", phone="+442017563969",
            email="williams.oliver145@hotmail.co.uk"),
    ]  # fmt: skip
    # one person, a personal and a work address, one mobile: still one person
    one_person = [
        rec("crm", "c1", given_name="Zoe", family_name="Hall", phone="+447700900123",
            email="zoe.hall829@hotmail.co.uk"),
        rec("shop", "o1", given_name="Zoe", family_name="Hall", phone="+447700900123",
            email="z.hall62@acme-corp.com"),
        # a typo of the personal mailbox is not a second mailbox
        rec("shop", "o2", given_name="Zoe", family_name="Hall", phone="+447700900123",
            email="zoe.hal829@hotmail.co.uk"),
    ]  # fmt: skip
    con, _ = resolve(namesakes + one_person)
    assert not same(con, "shop:s1", "shop:s2")
    assert same(con, "crm:c1", "shop:o1", "shop:o2")
    shared = con.execute(
        "select count(*) from identity.identity_links where rule = 'phone_exact' "
        "and left_record_id in ('s1', 's2')"
    ).fetchall()
    assert shared == [(0,)]


def test_fuzzy_link_between_two_personal_mailboxes_is_rejected():
    con = duckdb.connect()
    make_input(
        con,
        [
            rec("shop", "o1", given_name="Madison", family_name="Wilson", postcode="60688",
                email="madisonwilson741@yahoo.com"),
            rec("shop", "o2", given_name="Madison", family_name="Wilson", postcode="60688",
                email="madison.wilson@icloud.com"),
            # a typo'd address of one mailbox is no conflict
            rec("crm", "c1", given_name="Ann", family_name="Lee", email="ann.lee@gmail.com"),
            rec("crm", "c2", given_name="Ann", family_name="Lee", email="ann.le@gmail.com"),
        ],
    )  # fmt: skip

    def by_name(con, table):
        pairs = con.execute(
            f"select min(record_id), max(record_id) from {table} group by given_name"
        ).fetchall()
        return pd.DataFrame(
            [
                {"left_id": str(a), "right_id": str(b), "match_weight": 20.0,
                 "match_probability": 0.9999, "evidence": "{}", "decision": "auto_link"}
                for a, b in pairs
            ]
        )  # fmt: skip

    resolve_identities(con, "r1", AS_OF, fuzzy_linker=by_name)
    assert not same(con, "shop:o1", "shop:o2")
    assert same(con, "crm:c1", "crm:c2")
    assert rejected_reasons(con) == {"o1": "fuzzy_veto: personal_email_conflict"}
    assert con.execute("select count(*) from identity.identity_review_queue").fetchall() == [(0,)]


def rejected_reasons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """left record id -> why its fuzzy link was rejected, from the link's evidence."""
    rows = con.execute(
        "select left_record_id, evidence->>'rejected_because' from identity.identity_links "
        "where rule = 'fuzzy' and decision = 'rejected'"
    ).fetchall()
    return dict(rows)


def test_nicknames_typos_and_swapped_names_of_one_person_do_not_trip_the_name_guard():
    # one person's orders: Alexandra, Alex, a typo of it, Lexi, Sasha, and one order with
    # the names swapped; all share her email, so they are one cluster of "six names"
    names = [("Alexandra", "Lee"), ("Alex", "Lee"), ("Aex", "Lee"), ("Lexi", "Lee"),
             ("Sasha", "Lee"), ("Lee", "Alexandra")]  # fmt: skip
    records = [
        rec("shop", f"o{i}", given_name=g, family_name=f, email="alexandra.lee61@yahoo.com")
        for i, (g, f) in enumerate(names)
    ]
    con, report = resolve(records)
    assert report.guarded_clusters == 0
    assert same(con, *(f"shop:o{i}" for i in range(len(names))))


def test_email_of_two_namesakes_with_their_own_loyalty_cards_links_neither():
    # two Seán O'Connors, each with a loyalty card, type the same address; an order with
    # only that address could be either of them
    con, report = resolve(
        [
            rec("loyalty", "L1", given_name="Seán", family_name="O'Connor", loyalty_id="L1",
                email="sean.oconnor@icloud.com"),
            rec("shop", "o1", given_name="Seán", family_name="O'Connor", loyalty_id="L1"),
            rec("loyalty", "L2", given_name="Seán", family_name="O'Connor", loyalty_id="L2",
                email="sean.oconnor@icloud.com", phone="+353879890550"),
            rec("shop", "o2", given_name="Sean", family_name="O'Connor",
                email="sean.oconnor@icloud.com"),
        ]
    )  # fmt: skip
    assert same(con, "loyalty:L1", "shop:o1")
    assert not same(con, "loyalty:L1", "loyalty:L2")
    assert not same(con, "shop:o2", "loyalty:L1") and not same(con, "shop:o2", "loyalty:L2")
    assert report.shared_values == 1


def test_every_run_is_logged_with_its_sizes_and_timings():
    con = duckdb.connect()
    make_input(
        con,
        [
            rec("crm", "c1", given_name="Stephanie", family_name="Schulz", street="Am Markt 6",
                postcode="60033", email="s.schulz@web.de"),
            rec("shop", "o1", given_name="Stephanie", family_name="Schulz", street="Am Markt 6",
                postcode="60033"),
            rec("shop", "o2", given_name="Jonas", family_name="Weber", postcode="10115"),
        ],
    )  # fmt: skip
    first = resolve_identities(con, "r1", AS_OF)
    resolve_identities(con, "r2", AS_OF)
    runs = con.execute(
        "select run_id, records, candidate_pairs, clusters, report->>'fuzzy_status' "
        "from identity.identity_runs order by finished_at"
    ).fetchall()
    assert [r[0] for r in runs] == ["r1", "r2"]
    assert runs[0][1:] == (3, first.candidate_pairs, first.clusters, "ok")
    assert first.candidate_pairs >= 1
    assert first.as_metadata()["candidate_pairs_per_second"] > 0


# two records an email joins, and a third only the matcher can link to them
ZOE_BY_EMAIL_AND_AT_A_SHOP = [
    rec("crm", "1", given_name="Zoe", family_name="Lane", email="zoe@lane.me"),
    rec("loyalty", "L1", given_name="Zoey", family_name="Lane", email="zoe@lane.me"),
    rec("shop", "o1", given_name="Zoe", family_name="Lane", postcode="AB1 2CD"),
]


def spy_on_the_matcher(monkeypatch) -> list[dict]:
    """The pipeline's calls of the matcher: each call's config and known group per source."""
    import python_models.identity.pipeline as pipeline

    calls = []
    real = pipeline.score_links_into

    def spy(con, table, mapping, config, out, **kwargs):
        sql = f"select source_system, {kwargs['known_group']} from {table}"
        calls.append({"config": config, "groups": dict(con.execute(sql).fetchall())})
        return real(con, table, mapping, config, out, **kwargs)

    monkeypatch.setattr(pipeline, "score_links_into", spy)
    return calls


def test_the_pipeline_matcher_runs_with_the_configured_matching(monkeypatch):
    calls = spy_on_the_matcher(monkeypatch)
    con = duckdb.connect()
    make_input(
        con,
        [
            rec("crm", "1", given_name="Anna", family_name="Berg", postcode="AB1 2CD"),
            rec("shop", "o1", given_name="Anna", family_name="Berg", postcode="AB1 2CD"),
        ],
    )
    matching = MatchConfig(auto_link_probability=0.99, review_probability=0.9)
    resolve_identities(con, "r1", AS_OF, config=IdentityConfig(matching=matching))
    assert [call["config"] for call in calls] == [matching]


def test_a_pair_named_by_an_identifier_and_the_matcher_is_written_once_as_the_identifier():
    con = duckdb.connect()
    make_input(con, ZOE_BY_EMAIL_AND_AT_A_SHOP)

    def fuzzy(con, table):
        ids = dict(con.execute(f"select source_system, record_id from {table}").fetchall())
        link = {"match_weight": 12.0, "match_probability": 0.99, "evidence": "{}"}
        return pd.DataFrame(
            [
                # the pair the email already links, and one only the matcher names
                {"left_id": str(ids["loyalty"]), "right_id": str(ids["crm"]), **link,
                 "decision": "auto_link"},
                {"left_id": str(ids["crm"]), "right_id": str(ids["shop"]), **link,
                 "decision": "auto_link"},
            ]
        )  # fmt: skip

    resolve_identities(con, "r1", AS_OF, fuzzy_linker=fuzzy)
    links = con.execute(
        "select left_source_system || '-' || right_source_system, rule, decision "
        "from identity.identity_links order by 1"
    ).fetchall()
    assert links == [
        ("crm-loyalty", "email_exact", "auto_link"),
        ("crm-shop", "fuzzy", "auto_link"),
    ]
    assert same(con, "crm:1", "loyalty:L1", "shop:o1")


def test_a_run_leaves_the_connections_compression_settings_as_it_found_them():
    con = duckdb.connect()
    con.execute("set disabled_compression_methods = 'rle'")
    setting = "select current_setting('disabled_compression_methods')"
    before = con.execute(setting).fetchone()[0]
    resolve([rec("crm", "1", email="a@b.se"), rec("shop", "o1", email="a@b.se")], con=con)
    assert con.execute(setting).fetchone()[0] == before
    make_input(con, [rec("crm", "1"), rec("crm", "1")])
    with pytest.raises(ValueError, match="crm:1 ×2"):
        resolve_identities(con, "r2", AS_OF, fuzzy_linker=None)
    assert con.execute(setting).fetchone()[0] == before


def test_the_matcher_is_told_which_records_identifiers_already_join(monkeypatch):
    """Pairs inside one deterministic cluster train the matcher but are not scored
    (`score_links_into(known_group=...)`): the pipeline names the clusters."""
    calls = spy_on_the_matcher(monkeypatch)
    con = duckdb.connect()
    make_input(con, ZOE_BY_EMAIL_AND_AT_A_SHOP)
    resolve_identities(con, "r1", AS_OF)
    (call,) = calls
    assert call["groups"]["crm"] == call["groups"]["loyalty"] != call["groups"]["shop"]

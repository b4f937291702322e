"""Privacy: identifiers normalised alike in Python and SQL, HMAC in SQL, requests files,
the erasure's household rule, access completeness and the privacy key setting."""

import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import PrivacyKeyError, Settings
from python_models.activation.export import ExportRequest, export_audience
from python_models.privacy.access import access_report
from python_models.privacy.analytics import build_analytics, pii_columns
from python_models.privacy.erasure import erase, record_id_probe_sql
from python_models.privacy.identifiers import identifier_sql, normalise_identifier
from python_models.privacy.keys import token, token_sql
from python_models.privacy.requests import MalformedRequests, make_request, parse_requests_text
from python_models.privacy.verify import verify_erasure
from tests.support.activation import AS_OF, Person, audience, build_marts

KEY = b"test-key-0123456789-0123456789-0123"
DBT_MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"

EMAIL_SPELLINGS = [
    "Ann.Lee+news@GoogleMail.com",
    " annlee@gmail.com ",
    "ANN.LEE@gmail.com",
    "a.n.n.l.e.e+x+y@gmail.com",
]
PHONE_SPELLINGS = ["+44 (0)20 7946 0958", "020-7946-0958", "0044 20 7946 0958", "(020) 79460958"]


def sql_value(kind: str, value: str) -> str | None:
    con = duckdb.connect()
    return con.execute(
        f"select {identifier_sql(kind, 'v')} from (select ?::varchar as v)", [value]
    ).fetchone()[0]


@pytest.mark.parametrize("value", EMAIL_SPELLINGS)
def test_every_spelling_of_an_email_normalises_to_one_value_in_python_and_sql(value) -> None:
    assert normalise_identifier("email", value) == "annlee@gmail.com"
    assert sql_value("email", value) == "annlee@gmail.com"
    assert sql_value("contact", value) == "annlee@gmail.com"


@pytest.mark.parametrize("value", PHONE_SPELLINGS)
def test_every_format_of_a_phone_normalises_to_one_key_in_python_and_sql(value) -> None:
    assert normalise_identifier("phone", value) == "079460958"
    assert sql_value("phone", value) == "079460958"


@pytest.mark.parametrize("value", ["not-an-email", "a@b", "@x.org", "12345"])
def test_malformed_contacts_normalise_to_nothing_in_both(value) -> None:
    assert normalise_identifier("contact", value) == sql_value("contact", value) is None


def test_hmac_in_sql_equals_pythons_hmac_for_short_and_long_keys() -> None:
    con = duckdb.connect()
    for key in (KEY, b"k" * 100):
        expected = hmac.new(key, b"email:a@b.co", hashlib.sha256).hexdigest()
        assert token(key, "email", "a@b.co") == expected
        in_sql = token_sql(key, "'email'", "'a@b.co'")
        assert con.execute(f"select {in_sql}").fetchone()[0] == expected
    assert token(KEY, "email", "a@b.co") != token(b"other-key", "email", "a@b.co")


def test_requests_file_parses_and_malformed_files_name_line_and_reason() -> None:
    text = "request_id,identifier_type,identifier\nR1,email,Ann@X.org\nR1,loyalty_id,L1\n"
    parsed = parse_requests_text(text, "req.csv")
    assert [(r.request_id, r.kind, r.normalised) for r in parsed] == [
        ("R1", "email", "ann@x.org"),
        ("R1", "loyalty_id", "l1"),
    ]
    cases = {
        "id,type,value\nR1,email,a@b.co\n": "req.csv: line 1: header",
        "request_id,identifier_type,identifier\nR1,fax,1\n": (
            "req.csv: line 2: identifier_type 'fax'"
        ),
        "request_id,identifier_type,identifier\nR1,email,a@b.co\nR2,email,nope\n": (
            "req.csv: line 3: identifier is not a valid email"
        ),
        "request_id,identifier_type,identifier\nR1,email\n": "req.csv: line 2: 2 fields",
        "": "req.csv: line 1: empty file",
    }
    for bad, message in cases.items():
        with pytest.raises(MalformedRequests, match=message.replace("(", r"\(")):
            parse_requests_text(bad, "req.csv")


def test_production_refuses_a_missing_or_short_key_and_dev_uses_the_documented_default() -> None:
    base = {"CUSTOMER360_ENV": "production"}
    with pytest.raises(PrivacyKeyError, match="CUSTOMER360_PRIVACY_KEY is not set"):
        Settings.from_env(base).privacy_key()
    with pytest.raises(PrivacyKeyError, match="at least 32"):
        Settings.from_env({**base, "CUSTOMER360_PRIVACY_KEY": "short"}).privacy_key()
    assert Settings.from_env({**base, "CUSTOMER360_PRIVACY_KEY": "x" * 40}).privacy_key() == (
        b"x" * 40
    )
    assert Settings.from_env({}).privacy_key() == b"customer360-dev-only-key-not-secret"
    assert "CUSTOMER360_PRIVACY_KEY" not in repr(
        Settings.from_env({"CUSTOMER360_PRIVACY_KEY": "s"})
    )


@pytest.fixture
def household() -> duckdb.DuckDBPyConnection:
    """Two customers of one household (shared landline and address), with records in raw,
    the identity graph, keyed records, a mart and a segment."""
    con = duckdb.connect()
    for schema in ("raw", "quarantine", "identity", "intermediate", "marts"):
        con.execute(f"create schema {schema}")
    con.execute("""
        create table raw.crm_contacts as select * from (values
            ('C1', 'Ann', 'Lee', 'Ann.Lee@example.com', '020 7946 0958', '1 High St', 'l1', 'f1'),
            ('C2', 'Bob', 'Lee', 'bob@example.com', '+44 20 7946 0958', '1 High St', 'l1', 'f1'),
            ('C3', 'Cy', 'Roe', 'cy@example.com', '07700 900123', '9 Low Rd', 'l1', 'f1')
        ) as t(crm_id, first_name, last_name, email, phone, street, _load_id, _source_file)
    """)
    con.execute("""
        create table quarantine.crm_contacts as select * from (values
            ('C9', 'ann.lee+promo@EXAMPLE.com', 'bad birth date')
        ) as t(crm_id, email, failed_rule)
    """)
    con.execute("""
        create table raw.shop_orders as select * from (values
            ('O1', 'C1', 'ann.lee@example.com', '{"note": "gift for ann.lee@example.com"}'),
            ('O2', 'C2', 'bob@example.com', null)
        ) as t(order_id, crm_id, customer_email, _extra)
    """)
    con.execute("""
        create table identity.identity_graph as select * from (values
            ('crm', 'C1', 'k_ann'), ('shop', 'O1', 'k_ann'),
            ('crm', 'C2', 'k_bob'), ('shop', 'O2', 'k_bob'), ('crm', 'C3', 'k_cy')
        ) as t(source_system, source_record_id, customer_key)
    """)
    con.execute("""
        create table identity.identity_links as select * from (values
            ('crm', 'C1', 'shop', 'O1', '{"email": "exact"}'),
            ('crm', 'C1', 'crm', 'C2', '{"phone": "exact", "street": "exact"}')
        ) as t(left_source_system, left_record_id, right_source_system, right_record_id,
               evidence)
    """)
    con.execute("""
        create table intermediate.int_person_records_keyed as
        select g.customer_key, g.source_system, g.source_record_id,
               coalesce(c.email, o.customer_email) as email, c.phone
        from identity.identity_graph as g
        left join raw.crm_contacts as c
            on g.source_system = 'crm' and c.crm_id = g.source_record_id
        left join raw.shop_orders as o
            on g.source_system = 'shop' and o.order_id = g.source_record_id
    """)
    con.execute("""
        create table marts.dim_customers as select * from (values
            ('k_ann', 'Ann', 'ann.lee@example.com', '+442079460958', '1 High St'),
            ('k_bob', 'Bob', 'bob@example.com', '+442079460958', '1 High St'),
            ('k_cy', 'Cy', 'cy@example.com', '+447700900123', '9 Low Rd')
        ) as t(customer_key, given_name, primary_email, phone, street)
    """)
    con.execute("""
        create table marts.segment_membership as select * from (values
            ('k_ann', 'vip'), ('k_bob', 'vip'), ('k_cy', 'new')) as t(customer_key, segment)
    """)
    return con


EXPECTED_ANN = {
    "raw.crm_contacts": 1,
    "quarantine.crm_contacts": 1,
    "raw.shop_orders": 1,
    "identity.identity_graph": 2,
    "identity.identity_links": 2,
    "intermediate.int_person_records_keyed": 2,
    "marts.dim_customers": 1,
    "marts.segment_membership": 1,
}


def test_access_request_lists_exactly_the_expected_rows_table_by_table(household) -> None:
    request = [make_request("ACC-1", "email", "ANN.LEE+x@example.com")]
    (document,) = access_report(household, request, run_id="t").values()
    assert document["customer_keys"] == ["k_ann"]
    assert {t: len(rows) for t, rows in document["tables"].items()} == EXPECTED_ANN
    evidence = {link["evidence"] for link in document["tables"]["identity.identity_links"]}
    assert evidence == {'{"email": "exact"}', '{"phone": "exact", "street": "exact"}'}
    logged = household.execute(
        "select event_type, outcome, subjects, rows_affected from audit.privacy_log"
    ).fetchall()
    assert logged == [("access_request", "exported", 1, sum(EXPECTED_ANN.values()))]


def test_erasing_one_household_member_leaves_the_other_and_the_shared_landline(household) -> None:
    request = [make_request("ER-1", "email", "ANN.LEE+x@example.com")]
    (result,) = erase(household, request, key=KEY, run_id="t")
    assert result.outcome == "erased" and result.customer_keys == ["k_ann"]
    assert result.rows_by_table == EXPECTED_ANN  # the same list access shows
    assert household.execute("select crm_id from raw.crm_contacts order by 1").fetchall() == [
        ("C2",),
        ("C3",),
    ]
    assert household.execute(
        "select customer_key from marts.dim_customers order by 1"
    ).fetchall() == [("k_bob",), ("k_cy",)]
    kinds = household.execute(
        "select identifier_kind from privacy.tombstones order by 1"
    ).fetchall()
    # not the shared landline; the customer key too, so no export writes to them again
    assert kinds == [("crm_id",), ("customer_key",), ("email",), ("order_id",)]
    report = verify_erasure(household, request, key=KEY)
    assert report.clean, report.describe()
    audit = household.execute(
        "select request_id, outcome, subjects, rows_affected, rows_by_table::varchar, "
        "details::varchar from audit.privacy_log"
    ).fetchone()
    assert audit[:4] == ("ER-1", "erased", 1, sum(EXPECTED_ANN.values()))
    assert "example.com" not in audit[4] + audit[5] and "k_ann" not in audit[4] + audit[5]


def test_a_request_matching_a_shared_landline_erases_every_customer_it_names(household) -> None:
    (result,) = erase(
        household, [make_request("ER-2", "phone", "020 7946 0958")], key=KEY, run_id="t"
    )
    assert result.customer_keys == ["k_ann", "k_bob"]
    assert household.execute("select crm_id from raw.crm_contacts").fetchall() == [("C3",)]


def test_no_match_is_a_clear_audited_result_and_verify_finds_a_trace(household) -> None:
    (result,) = erase(
        household, [make_request("ER-3", "email", "nobody@x.org")], key=KEY, run_id="t"
    )
    assert result.outcome == "no_match" and "no match" in result.describe()
    assert household.execute(
        "select outcome, rows_affected from audit.privacy_log where request_id = 'ER-3'"
    ).fetchall() == [("no_match", 0)]
    report = verify_erasure(household, [make_request("V", "email", "Bob@Example.com")], key=KEY)
    assert not report.clean
    assert ("raw.crm_contacts", "email", 1) in report.traces
    assert ("marts.dim_customers", "primary_email", 1) in report.traces
    assert report.missing_tombstones == [("V", "email")]
    spelled = verify_erasure(household, [make_request("V", "phone", "0044 2079460958")], key=KEY)
    assert ("raw.crm_contacts", "phone", 2) in spelled.traces


def test_model_training_excludes_customers_without_analytics_consent() -> None:
    from python_models.clustering.pipeline import FEATURE_COLUMNS, read_training_sample

    con = duckdb.connect()
    con.execute("create schema intermediate")
    features = ", ".join(f"1.0 as {c}" for c in FEATURE_COLUMNS)
    con.execute(
        "create table intermediate.int_customer_features as "
        f"select 'k' || i as customer_key, {features} from range(6) as t(i)"
    )
    con.execute("""
        create table intermediate.int_customer_consent_current as select * from (values
            ('k0', true), ('k1', false), ('k2', true), ('k3', null)) as t(customer_key,
            consent_analytics)
    """)
    table, consent = (
        "intermediate.int_customer_features",
        "intermediate.int_customer_consent_current",
    )
    sample = read_training_sample(con, table, 100, 7, consent)
    assert sorted(sample["customer_key"]) == ["k0", "k2"]  # withdrawn, unknown, none: out
    assert len(read_training_sample(con, table, 100, 7)) == 6


def test_an_erased_person_is_left_out_of_the_next_export_even_if_their_profile_comes_back(
    tmp_path,
) -> None:
    """The tombstones are the one record of who is erased: the export checks each member's
    customer key and address against them, so a profile restored from a backup taken before
    the erasure (or rebuilt under a new key) still gets no email."""
    con = duckdb.connect()
    ann, bob = Person("c_ann", "Ann.Lee@example.com"), Person("c_bob", "bob@example.com")
    before_erasure = [ann, bob, Person("c_ann_again", "ann.lee+shop@example.com")]
    build_marts(con, [ann, bob])
    con.execute("create schema identity")
    con.execute(
        "create table identity.identity_graph as select * from (values "
        "('c_ann', 'crm', 'C1'), ('c_bob', 'crm', 'C2')) "
        "as t(customer_key, source_system, source_record_id)"
    )
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_person_records_keyed as select * from (values "
        "('c_ann', 'Ann.Lee@example.com', null), ('c_bob', 'bob@example.com', null)) "
        "as t(customer_key, email, phone)"
    )
    (result,) = erase(
        con, [make_request("ER-9", "email", "ann.lee@example.com")], key=KEY, run_id="t"
    )
    assert result.customer_keys == ["c_ann"]
    build_marts(con, before_erasure)  # restored from before the erasure, a copy under a new key

    exported = export_audience(
        con, ExportRequest(audience(), "r1", AS_OF, tmp_path, privacy_key=KEY)
    )
    rows = (exported.folder / "vip.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["bob@example.com"]
    assert exported.manifest["excluded_by_reason"]["erased"] == 2
    with pytest.raises(ValueError, match="CUSTOMER360_PRIVACY_KEY"):
        export_audience(con, ExportRequest(audience(), "r2", AS_OF, tmp_path))


def test_verify_finds_a_record_id_in_any_case_inside_json_and_skips_only_too_short_columns():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.t (code varchar, payload json, note varchar)")
    con.execute(
        "insert into raw.t values ('ab', '{\"ref\": \"CRM-000123\"}', 'call crm-000123 back'), "
        "('cd', '{\"ref\": \"crm-0001234\"}', null)"
    )
    report = verify_erasure(
        con, [make_request("V", "crm_id", " crm-000123")], key=KEY, check_tombstones=False
    )
    assert report.traces == [("raw.t", "payload", 1), ("raw.t", "note", 1)]
    assert (report.columns_scanned, report.columns_skipped) == (3, 1)  # `code` is 2 chars


def test_erasure_reaches_analytics_where_keys_and_provenance_are_hashed() -> None:
    con = duckdb.connect()
    con.execute("create schema identity")
    con.execute(
        "create table identity.identity_graph as select * from (values "
        "('k_ann', 'crm', 'C1'), ('k_bob', 'crm', 'C2')) "
        "as t(customer_key, source_system, source_record_id)"
    )
    con.execute("create schema marts")
    con.execute(
        "create table marts.dim_customers as select * from (values "
        "('k_ann', 'crm', 'C1'), ('k_bob', 'crm', 'C2')) "
        "as t(customer_key, email_source_system, email_source_record_id)"
    )
    build_analytics(con, KEY, pii_columns(DBT_MODELS), marts=("dim_customers",))
    held = con.execute("select email_source_record_id from analytics.dim_customers").fetchall()
    assert ("C1",) not in held  # the source record id is hashed like any other PII
    (result,) = erase(con, [make_request("ER-7", "crm_id", "c1")], key=KEY, run_id="t")
    assert result.rows_by_table["analytics.dim_customers"] == 1
    assert con.execute("select customer_key from analytics.dim_customers").fetchall() == [
        (token(KEY, "customer_key", "k_bob"),)
    ]


def test_verify_finds_every_spelling_of_an_email_behind_its_substring_test() -> None:
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.t (note varchar, payload json)")
    con.execute(
        "insert into raw.t values ('mail PEGGY_Daws511302+News@AOL.com', null), "
        '(null, \'{"to": "peggy_daws511302@aol.com"}\'), '
        "('peggy_daws511303@aol.com', '{\"to\": \"peggy_daws51130@aol.com\"}'), "
        "('A.Muhle.348001@GoogleMail.com', null)"
    )
    requests = [
        make_request("V", "email", "peggy_daws511302@aol.com"),
        make_request("V", "email", "amuhle348001@gmail.com"),
    ]
    report = verify_erasure(con, requests, key=KEY, check_tombstones=False)
    assert report.traces == [("raw.t", "note", 2), ("raw.t", "payload", 1)]


@pytest.mark.parametrize(
    "value", [" Ab ", "Ab", "\u00a0AB", "AB\u00a0", "É", "aÉ", "x", "", "\tA", "A\u3000", None]
)
def test_the_record_id_probe_equals_the_record_id_normalisation(value) -> None:
    con = duckdb.connect()
    probe, normal = con.execute(
        f"select {record_id_probe_sql('v')}, {identifier_sql('crm_id', 'v')} "
        "from (select ?::varchar as v)",
        [value],
    ).fetchone()
    assert probe == normal or (probe == "" and normal is None)

"""Property test: no address without current consent appears in any export file or table.

Hypothesis builds random consent histories: granted, withdrawn, re-granted, events with an
unknown status, several identifiers (emails and phones) per customer, events out of order,
same-instant ties, and events after `as_of`. Each history runs through the project's own
SQL (the dbt consent models, compiled once) and the audience export, and the exported
addresses are checked against an independent Python reading of the rules:

- an identifier's consent is its latest event at as_of (a withdrawal wins a tie);
- a customer may be emailed only if none of their identifiers currently withdraws, and
  only at an address that itself holds a current grant.

The exported set must equal what that reading allows: nothing more (the safety property)
and nothing less (the rules are not simply refusing everyone).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from python_models.activation.export import ExportRequest, export_audience
from tests.support.activation import AS_OF, audience

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODELS = (
    "int_customer_identifiers",
    "int_consent_identifiers_latest",
    "int_customer_consent_resolved",
    "customer_consent",
)
CATALOG = "consentprop"
BASE = datetime(2026, 6, 1)
PURPOSES = ("email_marketing", "personalization")


@pytest.fixture(scope="module")
def compiled_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The consent models as dbt compiles them (refs point at catalog `consentprop`)."""
    work = tmp_path_factory.mktemp("consent_compile")
    env = {
        **os.environ,
        "CUSTOMER360_WAREHOUSE": str(work / f"{CATALOG}.duckdb"),
        "CUSTOMER360_AS_OF": "2026-11-01T00:00:00",
    }
    dbt = Path(sys.executable).with_name("dbt")
    target = work / "target"
    subprocess.run(
        [str(dbt), "compile", "--quiet", "--select", *MODELS, "--target-path", str(target)],
        cwd=PROJECT_ROOT / "dbt_project",
        env=env,
        check=True,
        capture_output=True,
    )
    compiled = {}
    for model in MODELS:
        (path,) = (target / "compiled").rglob(f"{model}.sql")
        compiled[model] = path.read_text()
    return compiled


identifier_events = st.lists(
    st.tuples(
        st.sampled_from(PURPOSES),
        st.sampled_from(["granted", "withdrawn", "granted", "unknown"]),
        # few distinct days, so same-instant ties are common; day 200 is after as_of
        st.sampled_from([0, 10, 10, 50, 90, 200]),
    ),
    max_size=5,
)
customer = st.tuples(
    st.lists(identifier_events, min_size=1, max_size=3),  # emails, the first is primary
    st.lists(identifier_events, max_size=2),  # phones
)


def _expected_state(
    events: list[tuple[str, str, int, str]], purpose: str
) -> tuple[bool | None, int]:
    """Latest known event at as_of (a withdrawal wins a tie, then the larger event id):
    whether it grants, and its day."""
    as_of = AS_OF.replace(tzinfo=None)
    known = [
        e
        for e in events
        if e[0] == purpose and e[1] != "unknown" and BASE + timedelta(e[2]) <= as_of
    ]
    if not known:
        return None, -1
    latest = max(known, key=lambda e: (e[2], e[1] == "withdrawn", e[3]))
    return latest[1] == "granted", latest[2]


def _build(con: duckdb.DuckDBPyConnection, customers: list) -> dict[str, str | None]:
    """Write the inputs; return each customer's address the rules allow (None: not allowed)."""
    for schema in ("staging", "intermediate", "reference", "marts"):
        con.execute(f"create schema if not exists {schema}")
    records, events, allowed = [], [], {}
    event_number = 0
    for c_index, (emails, phones) in enumerate(customers):
        key = f"c{c_index}"
        states: list[tuple[str, str, bool | None, int]] = []
        for kind, histories in (("email", emails), ("phone", phones)):
            for i_index, history in enumerate(histories):
                if kind == "email":
                    identifier = f"u{c_index}.{i_index}@example.com"
                    match_key = identifier
                    records.append((key, identifier, None))
                else:
                    identifier = f"+4477009{c_index:02d}{i_index:03d}"
                    match_key = identifier[-9:]
                    records.append((key, None, identifier))
                with_ids = []
                for purpose, status, day in history:
                    event_number += 1
                    event_id = f"e{event_number:05d}"
                    with_ids.append((purpose, status, day, event_id))
                    events.append(
                        (
                            event_id,
                            kind,
                            match_key,
                            identifier,
                            purpose,
                            {"granted": True, "withdrawn": False}.get(status),
                            BASE + timedelta(day),
                            "web_form",
                        )
                    )
                states.append((kind, identifier, *_expected_state(with_ids, "email_marketing")))
        if any(state is False for _, _, state, _ in states):
            allowed[key] = None
            continue
        # the primary email when it holds a grant, else the latest granted email
        granted = sorted(
            ((-day, ident) for kind, ident, state, day in states if kind == "email" and state)
        )
        primary = f"u{c_index}.0@example.com"
        if primary in {ident for _, ident in granted}:
            allowed[key] = primary
        else:
            allowed[key] = granted[0][1] if granted else None
    con.execute(
        "create or replace table intermediate.int_person_records_keyed "
        "(customer_key varchar, email varchar, phone varchar)"
    )
    con.executemany("insert into intermediate.int_person_records_keyed values (?, ?, ?)", records)
    con.execute(
        "create or replace table staging.stg_consent__events (consent_event_id varchar, "
        "identifier_type varchar, identifier_match_key varchar, identifier varchar, "
        "purpose varchar, is_granted boolean, occurred_at timestamp, "
        "consent_source varchar)"
    )
    if events:
        con.executemany(
            "insert into staging.stg_consent__events values (?, ?, ?, ?, ?, ?, ?, ?)", events
        )
    keys = [f"c{i}" for i in range(len(customers))]
    con.execute(
        "create or replace table intermediate.int_customer_attributes_survived as "
        "select unnest(?) as customer_key, 'u' || substr(unnest(?), 2) || '.0@example.com'"
        " as primary_email",
        [keys, keys],
    )
    con.execute(
        "create or replace table reference.consent_purposes as select * from "
        "(values ('email_marketing'), ('personalization'), ('analytics')) as t(purpose)"
    )
    con.execute(
        "create or replace table reference.email_suppressions "
        "(email varchar, reason varchar, suppressed_at timestamp, source varchar)"
    )
    con.execute("""create or replace table marts.dim_customers as
        select customer_key, primary_email, 'Ann' as given_name, 'Lee' as family_name,
            null::varchar as phone, 'GB' as country, 'Champions' as rfm_segment,
            null::varchar as cluster_label, null::timestamp as last_order_at
        from intermediate.int_customer_attributes_survived""")
    con.execute(
        "create or replace table marts.segment_membership as "
        "select customer_key, 'vips' as segment from marts.dim_customers"
    )
    con.execute(
        "create or replace table marts.dim_products (product_id varchar, product_name varchar)"
    )
    return allowed


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(customers=st.lists(customer, min_size=1, max_size=4))
def test_no_address_without_current_consent_is_ever_exported(
    compiled_models: dict[str, str], tmp_path_factory: pytest.TempPathFactory, customers
):
    work = tmp_path_factory.mktemp("consent_case")
    con = duckdb.connect(str(work / f"{CATALOG}.duckdb"))
    try:
        allowed = _build(con, customers)
        for model in MODELS:  # in dependency order
            schema = "marts" if model == "customer_consent" else "intermediate"
            con.execute(f"create or replace table {schema}.{model} as {compiled_models[model]}")
        result = export_audience(
            con, ExportRequest(audience(tags=[]), "run", AS_OF, work / "exports")
        )
        with (result.folder / "vip.csv").open(newline="") as handle:
            in_csv = {row["Email Address"] for row in csv.DictReader(handle)}
        in_parquet = {
            r[0]
            for r in con.execute(
                f"select email from read_parquet('{result.folder / 'vip.parquet'}')"
            ).fetchall()
        }
        in_table = {r[0] for r in con.execute("select email from exports.export_vip").fetchall()}
        expected = {address for address in allowed.values() if address}
        assert in_csv == in_parquet == in_table == expected
    finally:
        con.close()

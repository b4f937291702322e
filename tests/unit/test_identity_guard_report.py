"""The identity run report says what each over-merge guard did (issue #20): ids treated as
shared, fuzzy links vetoed, the household guard's decision and the pairs it dropped; stored
with the run in `identity.identity_runs` and printed in the run's summary."""

import json

import duckdb
import pandas as pd

from orchestration.cli.run import identity_lines, identity_runs
from python_models.identity.guards import guard_summary
from python_models.identity.pipeline import resolve_identities
from tests.unit.test_identity_resolve import AS_OF, make_input, rec


def _fuzzy_by_given_name(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """A stand-in matcher: auto-links the records of one given name."""
    pairs = con.execute(
        f"select min(record_id), max(record_id) from {table} group by given_name"
        " having count(*) > 1"
    ).fetchall()
    return pd.DataFrame(
        [
            {"left_id": str(a), "right_id": str(b), "match_weight": 20.0,
             "match_probability": 0.9999, "evidence": "{}", "decision": "auto_link"}
            for a, b in pairs
        ],
        columns=["left_id", "right_id", "match_weight", "match_probability", "evidence",
                 "decision"],
    )  # fmt: skip


def test_the_stored_run_report_counts_shared_ids_and_vetoed_links(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    make_input(
        con,
        [
            # two different people on one phone: it is shared and links neither
            rec("crm", "c1", given_name="Grace", family_name="Okafor", phone="+447700900123",
                birth_date="1971-02-03"),
            rec("crm", "c2", given_name="Tobi", family_name="Okafor", phone="+447700900123",
                birth_date="2001-09-30"),
            # one name, two birth dates: the fuzzy link between them is vetoed
            rec("shop", "o1", given_name="Madison", family_name="Wilson", postcode="60688",
                birth_date="1980-01-01"),
            rec("shop", "o2", given_name="Madison", family_name="Wilson", postcode="60688",
                birth_date="1999-12-31"),
        ],
    )  # fmt: skip
    report = resolve_identities(con, "r1", AS_OF, fuzzy_linker=_fuzzy_by_given_name)
    stored = json.loads(con.execute("select report from identity.identity_runs").fetchone()[0])
    guards = stored["guards"]
    assert guards == report.guards
    assert sum(guards["shared_values"]["phone"].values()) == 1
    assert guards["fuzzy_vetoes"] == {"birth_date_conflict": 1}
    con.close()
    # the summary `customer360 run` prints after a run that resolved identities
    (line,) = identity_lines(identity_runs(warehouse, "1GB", ["other-run", "r1"]))
    assert "ids treated as shared: phone 1" in line
    assert "fuzzy links vetoed: birth_date_conflict 1" in line
    assert identity_runs(warehouse, "1GB", ["other-run"]) == []


def test_the_household_guard_decision_and_its_dropped_pairs_reach_the_summary():
    run = {
        "records": 1200,
        "clusters": 900,
        "review_queue": 4,
        "guards": {
            "household_guard": {
                "on": True,
                "reason": "given names differ at one address 35.0% of the time, surnames "
                "1.1%: households",
                "pairs_dropped": 37,
                "pairs_held": 2,
            },
            "matcher_shared_values": {"email": 3, "phone": 0},
        },
    }
    (line,) = identity_lines([run])
    assert "1,200 records -> 900 customers, review queue 4" in line
    assert "household guard on (given names differ at one address 35.0%" in line
    assert "37 pairs dropped, 2 held for review" in line
    assert "ids treated as shared: email 3" in line and "phone 0" not in line
    assert guard_summary({}) == "no guard fired"

"""Scorecard dimensions on a small hand-checked load, volume anomalies, and the HTML report."""

from collections.abc import Iterator

import duckdb
import pandas as pd
import pytest

from python_models.quality.anomalies import detect_volume_anomalies, write_volume_anomalies
from python_models.quality.quarantine import quarantine_load
from python_models.quality.report import scorecard_html
from python_models.quality.scorecard import (
    overall_score,
    read_scorecard,
    timeliness_score,
    update_scorecard,
)
from tests.support.raw_tables import insert_raw_rows


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def contact(crm_id: str, **fields: str) -> dict:
    return {"crm_id": crm_id, "first_name": "Ann", "last_name": "Lee", **fields}


FULL = {
    "email": "a@x.com",
    "phone": "+44 20 7946 0958",
    "postcode": "SW1A 1AA",
    "country": "GB",
    "birth_date": "1980-01-01",
    "updated_at": "2026-10-30T00:00:00Z",
}


@pytest.fixture
def scored(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.delenv("CUSTOMER360_AS_OF", raising=False)
    insert_raw_rows(
        con,
        "crm_contacts",
        [
            contact("c1", **FULL),  # 6 of 6 key attributes
            contact("c2", email="bad"),  # 3 of 6; invalid email
            contact("c3", email="d@x.com", birth_date="1970-01-01"),  # 4 of 6
            contact("c1", **FULL),  # 6 of 6; duplicate key
        ],
        loaded_at="2026-11-01 00:00:00",
    )
    insert_raw_rows(
        con,
        "pos_loyalty_members",
        [
            {"loyalty_id": "l1", "email": "A@x.com", "birth_date": "1980-01-01"},  # agrees
            {"loyalty_id": "l2", "email": "d@x.com", "birth_date": "1971-01-01"},  # conflicts
        ],
    )
    quarantine_load(con, "crm_contacts", "load-1")
    update_scorecard(con)
    frame = read_scorecard(con)
    return frame[frame["source"] == "crm_contacts"].iloc[0].to_dict()


def test_scorecard_dimensions_match_a_hand_count(scored: dict) -> None:
    assert scored["rows_read"] == 4
    assert scored["rows_quarantined"] == 1  # the duplicate c1
    assert scored["completeness"] == pytest.approx(19 / 24)
    assert scored["validity"] == pytest.approx(3 / 4)
    assert scored["uniqueness"] == pytest.approx(3 / 4)
    # same email, different birth date: 1 conflict among the 3 rows with both filled
    assert scored["consistency"] == pytest.approx(2 / 3)
    assert scored["freshness_lag_hours"] == pytest.approx(48.0)
    assert scored["timeliness"] == pytest.approx(0.5)  # twice the 24 h SLA
    expected = (19 / 24 + 3 / 4 + 2 / 3 + 3 / 4 + 0.5) / 5
    assert scored["dq_score"] == pytest.approx(expected)


def test_scorecard_only_scores_new_loads(con: duckdb.DuckDBPyConnection, scored: dict) -> None:
    assert update_scorecard(con).empty
    insert_raw_rows(con, "crm_contacts", [contact("c9", **FULL)], load_id="load-2")
    new = update_scorecard(con)
    assert list(new["load_id"]) == ["load-2"]
    assert len(read_scorecard(con)) == 3  # crm × 2 loads, loyalty × 1


def test_an_explicit_as_of_caps_the_freshness_clock(con) -> None:
    insert_raw_rows(con, "crm_contacts", [contact("c1", **FULL)], loaded_at="2026-11-20 00:00:00")
    # replaying an old snapshot
    [row] = update_scorecard(con, as_of="2026-10-30T12:00:00Z").to_dict("records")
    assert row["freshness_lag_hours"] == pytest.approx(12.0)
    assert row["timeliness"] == 1.0


def test_timeliness_and_overall_score_rules() -> None:
    assert timeliness_score(2.0, 24.0) == 1.0
    assert timeliness_score(96.0, 24.0) == 0.25
    assert timeliness_score(None, 24.0) is None
    assert overall_score({"a": 1.0, "b": 0.5, "c": None}) == 0.75


def events(load: int, count: int, missing_anonymous: int = 0) -> list[dict]:
    return [
        {
            "event_id": f"e{load}-{i}",
            "event_name": "page_view",
            "occurred_at": "2026-10-01T00:00:00Z",
            "session_id": "s",
            "anonymous_id": None if i < missing_anonymous else "a",
        }
        for i in range(count)
    ]


def load_days(con: duckdb.DuckDBPyConnection, sizes: list[int], missing_last: int = 0) -> None:
    for day, size in enumerate(sizes, start=1):
        missing = missing_last if day == len(sizes) else 0
        insert_raw_rows(
            con,
            "web_events",
            events(day, size, missing),
            load_id=f"web-{day}",
            loaded_at=f"2026-10-{day:02d} 06:00:00",
        )


def test_volume_drop_and_null_spike_are_flagged_by_source_and_metric(con) -> None:
    load_days(con, [100, 104, 98, 101, 99, 103, 100, 30], missing_last=15)
    found = detect_volume_anomalies(con)
    assert set(found["metric"]) == {"row_count", "null_rate:anonymous_id"}
    assert set(found["load_id"]) == {"web-8"}
    messages = " ".join(found["message"])
    assert "raw.web_events load web-8: row_count = 30, below its median" in messages
    assert write_volume_anomalies(con, found) == 2


def test_steady_or_short_history_raises_nothing(con) -> None:
    load_days(con, [100, 104, 98, 101, 99, 103, 100, 102])
    assert detect_volume_anomalies(con).empty
    con.execute("delete from raw.web_events")
    load_days(con, [100, 101, 5])  # too little history to judge
    assert detect_volume_anomalies(con).empty


def test_report_is_self_contained_html_with_matrix_and_trend(con, scored: dict) -> None:
    insert_raw_rows(con, "crm_contacts", [contact("c9", **FULL)], load_id="load-2")
    update_scorecard(con)
    page = scorecard_html(read_scorecard(con), generated_at="2026-11-01T00:00:00")
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "http" not in page  # nothing fetched from anywhere
    assert "<th>crm_contacts</th>" in page and "<th>pos_loyalty_members</th>" in page
    assert "<polyline" in page  # the trend across the two crm loads
    for dimension in ("completeness", "validity", "consistency", "uniqueness", "timeliness"):
        assert f"<th>{dimension}</th>" in page


def test_lines_the_extract_could_not_parse_count_as_read_and_invalid(con, monkeypatch) -> None:
    monkeypatch.delenv("CUSTOMER360_AS_OF", raising=False)
    insert_raw_rows(con, "crm_contacts", [contact(f"c{i}", **FULL) for i in range(3)])
    quarantine_load(con, "crm_contacts", "load-1")
    con.execute(  # what the extract writes for a line with the wrong number of fields
        "insert into quarantine.crm_contacts (_load_id, _row_number, failed_rules) "
        "values ('load-1', 4, ['unparseable_row'])"
    )
    [row] = update_scorecard(con).to_dict("records")
    assert (row["rows_read"], row["rows_quarantined"]) == (4, 1)
    assert row["validity"] == pytest.approx(3 / 4)


def test_a_run_split_into_chunk_files_is_judged_as_one_delivery(con) -> None:
    con.execute("create schema audit")
    con.execute("create table audit.load_audit (load_id varchar, run_id varchar)")
    chunks = {day: [100] for day in range(1, 8)} | {8: [34, 33, 33]}
    for day, sizes in chunks.items():
        for part, size in enumerate(sizes):
            load_id = f"web-{day}-{part}"
            insert_raw_rows(
                con, "web_events", events(day * 10 + part, size), load_id, f"2026-10-{day:02d}"
            )
            con.execute("insert into audit.load_audit values (?, ?)", [load_id, f"run-{day}"])
    assert detect_volume_anomalies(con).empty  # 34 + 33 + 33 rows is a normal day


SCORE_COLUMNS = ["source", "load_id", "rows_read", "rows_quarantined", "completeness",
                 "validity", "consistency", "uniqueness", "timeliness", "dq_score"]  # fmt: skip


def deliver_day(con: duckdb.DuckDBPyConnection, day: int) -> None:
    """Two crm files and a loyalty file, as one day's delivery would bring them."""
    for part in (1, 2):
        rows = [contact(f"c{day}{part}{i}", **FULL) for i in range(3)]
        rows.append(contact(f"c{day}{part}x", email="bad"))
        insert_raw_rows(
            con, "crm_contacts", rows, f"crm-{day}-{part}", f"2026-11-{day:02d} 0{part}:00:00"
        )
        quarantine_load(con, "crm_contacts", f"crm-{day}-{part}")
    insert_raw_rows(
        con,
        "pos_loyalty_members",
        [{"loyalty_id": f"l{day}", "email": "a@x.com", "birth_date": f"19{70 + day}-01-01"}],
        f"loyalty-{day}",
        f"2026-11-{day:02d} 03:00:00",
    )


def test_a_second_day_scores_only_its_own_loads_the_way_a_rebuild_would(con) -> None:
    deliver_day(con, 1)
    first = update_scorecard(con)
    computed_at = con.execute(
        "select load_id, computed_at from dq.dq_load_profiles order by load_id"
    ).fetchall()
    deliver_day(con, 2)
    second = update_scorecard(con)
    assert sorted(second["load_id"]) == ["crm-2-1", "crm-2-2", "loyalty-2"]
    # day one's loads were neither profiled nor scored again
    again = con.execute(
        "select load_id, computed_at from dq.dq_load_profiles order by load_id"
    ).fetchall()
    assert [row for row in again if row[0] in set(first["load_id"])] == computed_at
    stored = read_scorecard(con).set_index("load_id")
    assert stored.loc[first["load_id"], "computed_at"].nunique() == 1

    # a from-scratch recompute gives the same rows for the new loads
    rebuilt = update_scorecard(con, rebuild=True).set_index("load_id")
    incremental = second.set_index("load_id")
    pd.testing.assert_frame_equal(
        incremental.loc[sorted(incremental.index), SCORE_COLUMNS[:1] + SCORE_COLUMNS[2:]],
        rebuilt.loc[sorted(incremental.index), SCORE_COLUMNS[:1] + SCORE_COLUMNS[2:]],
    )
    assert incremental.loc["crm-2-1", "rows_quarantined"] == 0  # "bad" email only warns
    assert incremental.loc["crm-2-1", "validity"] == pytest.approx(3 / 4)
    # the day-2 loyalty birth date conflicts with day 1's for the same email
    assert rebuilt.loc["crm-2-1", "consistency"] < 1


def test_a_load_that_loses_rows_is_profiled_again(con) -> None:
    deliver_day(con, 1)
    update_scorecard(con)
    con.execute("delete from raw.crm_contacts where crm_id = 'c110'")  # an erasure
    con.execute("delete from raw.crm_contacts where _load_id = 'crm-1-2'")  # a purge
    detect_volume_anomalies(con)
    profiles = dict(
        con.execute(
            "select load_id, rows_read from dq.dq_load_profiles where source = 'crm_contacts'"
        ).fetchall()
    )
    assert profiles == {"crm-1-1": 3}
    # the scorecard keeps what the loads delivered
    assert set(read_scorecard(con)["load_id"]) >= {"crm-1-1", "crm-1-2"}

"""The cookbook's "who entered at the latest run" recipe, on a history of three runs.

It must name the people who entered at the latest run, and nobody when nobody entered then
(filtering on `max(entered_at)` would hand the email tool an older run's entrants again).
"""

import re
from pathlib import Path

import duckdb
import pytest

COOKBOOK = Path(__file__).resolve().parents[2] / "docs" / "cookbook.md"
TITLE = "Who entered a segment at the latest run? (for the email tool)"


def recipe() -> str:
    match = re.search(
        rf"^## {re.escape(TITLE)}\n.*?```sql\n(.+?)```", COOKBOOK.read_text(), re.S | re.M
    )
    assert match, f"cookbook has no recipe '{TITLE}'"
    return match.group(1)


def warehouse(
    latest_run: str, spells: list[tuple[str, str, str | None]]
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.segment_membership_history "
        "(customer_key varchar, segment varchar, entered_at timestamp, exited_at timestamp)"
    )
    con.executemany(
        "insert into marts.segment_membership_history values (?, 'high_purchase_intent', ?, ?)",
        spells,
    )
    con.execute("create table marts.segment_summary (segment varchar, as_of timestamp)")
    con.execute(
        "insert into marts.segment_summary values ('high_purchase_intent', ?)", [latest_run]
    )
    return con


HISTORY = [
    ("c1", "2026-11-01 00:00:00", None),  # entered at the first run, still in
    (
        "c2",
        "2026-11-02 00:00:00",
        "2026-11-03 00:00:00",
    ),  # entered at the second, left at the third
]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], []),  # nobody entered at the latest run (2026-11-03)
        ([("c3", "2026-11-03 00:00:00", None)], ["c3"]),
    ],
    ids=["nobody-entered-last-run", "one-entered-last-run"],
)
def test_recipe_names_only_who_entered_at_the_latest_run(extra, expected) -> None:
    with warehouse("2026-11-03 00:00:00", HISTORY + extra) as con:
        rows = con.execute(recipe()).fetchall()
    assert [customer for customer, _, _ in rows] == expected

"""One clock: the run's as_of is "now" for every rule and score, whatever the wall clock says.

The same landing files and as_of are loaded, checked and scored twice, with the wall clock
moved between the runs (to a day just after as_of, and to a year later); raw, quarantine,
audit and the scorecard come out the same, apart from the columns that record when the work
ran. An order placed after as_of is quarantined as in the future both times (it used to flow
into the marts whenever the wall clock had passed it).
"""

import csv
from pathlib import Path

import pytest
import time_machine

from python_models.contract import CONTRACT
from python_models.extract import load_landing_dir
from python_models.quality.quarantine import quarantine_load
from python_models.quality.scorecard import update_scorecard
from python_models.warehouse import connect, set_as_of
from tests.support.contents import table_contents

AS_OF = "2026-11-01T00:00:00"
#: columns that say when or how long something ran, not what the data is
WHEN_IT_RAN = {
    "_loaded_at", "loaded_at", "quarantined_at", "rejected_at", "recorded_at", "seconds",
    "computed_at",
}  # fmt: skip


def write_orders(landing: Path) -> None:
    table = CONTRACT["shop_orders"]
    rows = [
        {"order_id": "o1", "ordered_at": "2026-10-20T10:00:00Z", "status": "completed"},
        {"order_id": "o2", "ordered_at": "2026-11-20T10:00:00Z", "status": "completed"},
    ]
    path = landing / "shop" / "orders_2026-11-01.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=table.column_names)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {c: "" for c in table.column_names}
                | {"currency": "GBP", "shipping_amount": "0", "customer_email": "a@b.co"}
                | row
            )


def build(warehouse: Path, landing: Path, wall_clock: str) -> dict[str, list[tuple]]:
    with time_machine.travel(wall_clock, tick=False), connect(warehouse, memory_limit="1GB") as con:
        set_as_of(con, AS_OF)
        load_landing_dir(con, landing, run_id="run", quarantine=quarantine_load)
        update_scorecard(con, as_of=AS_OF)
        return table_contents(con, ("raw", "quarantine", "audit", "dq"), WHEN_IT_RAN)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_same_data_and_as_of_give_the_same_tables_under_any_wall_clock(tmp_path):
    landing = tmp_path / "landing"
    write_orders(landing)

    soon = build(tmp_path / "soon.duckdb", landing, "2026-11-02T12:00:00Z")
    later = build(tmp_path / "later.duckdb", landing, "2027-11-02T12:00:00Z")

    assert soon == later
    quarantined = later["quarantine.shop_orders"]
    assert [row[0] for row in quarantined] == ["o2"]  # after as_of: in the future, both times
    assert "ordered_at_timestamp" in str(quarantined[0])
    [score] = later["dq.dq_scorecard"]
    assert score[0] == "shop_orders"

"""Quarantine then replay, in a temporary DuckDB file, through the replay command."""

import dataclasses
from pathlib import Path

import duckdb
import pytest

from python_models.contract import rules as contract_rules
from python_models.quality import rules as rules_module
from python_models.quality.quarantine import quarantine_load
from tests.support.raw_tables import insert_raw_rows


def order(order_id: str, **overrides: str) -> dict:
    row = {
        "order_id": order_id,
        "customer_email": f"{order_id}@example.com",
        "ordered_at": "2026-10-01T10:00:00Z",
        "status": "completed",
        "currency": "GBP",
        "shipping_amount": "3.95",
    }
    return {**row, **overrides}


VALID_ROWS_SQL = (
    "select r.order_id, r.status from raw.shop_orders r where not exists (select 1 from "
    "quarantine.shop_orders q where q._load_id = r._load_id and q._row_number = r._row_number "
    "and q.released_at is null) order by r._row_number"
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        rows = [
            order("o1"),
            order("o2", status="complete"),  # typo: an analyst will fix it
            order("o3", status="on_hold"),  # a new status: a rule change will admit it
            order("o4", shipping_amount="-1"),  # stays bad
            order("o1", shipping_amount="0"),  # duplicate key: the analyst re-keys it
        ]
        insert_raw_rows(con, "shop_orders", rows, load_id="shop-aaa")
        assert quarantine_load(con, "shop_orders", "shop-aaa") == 4
    return path


def test_replay_releases_rows_fixed_in_quarantine_and_writes_them_back(
    warehouse: Path, run_cli
) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update quarantine.shop_orders set status = 'completed' where order_id = 'o2'")
        con.execute("update quarantine.shop_orders set order_id = 'o5' where _row_number = 5")

    result = run_cli("quality", "replay", "--warehouse", warehouse, "--table", "shop_orders")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "shop_orders: 4 pending, 2 released (2 with edited payload), 2 still quarantined" in out
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(VALID_ROWS_SQL).fetchall() == [
            ("o1", "completed"),
            ("o2", "completed"),
            ("o5", "completed"),
        ]
        raw_rows = con.execute("select count(*) from raw.shop_orders").fetchone()[0]
        assert raw_rows == 5  # corrected in place, nothing appended, nothing lost
        still = con.execute(
            "select order_id, failed_rules from quarantine.shop_orders "
            "where released_at is null order by order_id"
        ).fetchall()
        assert still == [("o3", ["status_accepted_values"]), ("o4", ["shipping_amount_range"])]

    again = run_cli("quality", "replay", "--warehouse", warehouse)  # idempotent
    assert "total: 0 released, 2 still quarantined" in again.stdout


def test_replay_after_a_rule_fix_releases_without_touching_raw(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = rules_module.REGISTRY["shop_orders"]
    widened = tuple(
        contract_rules.accepted("status", (*contract_rules.ORDER_STATUSES, "on_hold"))
        if rule.name == "status_accepted_values"
        else rule
        for rule in spec.rules
    )
    monkeypatch.setitem(
        rules_module.REGISTRY, "shop_orders", dataclasses.replace(spec, rules=widened)
    )
    with duckdb.connect(str(warehouse)) as con:
        from python_models.quality.replay import replay

        [report] = replay(con, ["shop_orders"])
        assert (report.released, report.released_with_edits) == (1, 0)
        assert ("o3", "on_hold") in con.execute(VALID_ROWS_SQL).fetchall()
        raw_status = con.execute(
            "select status from raw.shop_orders where order_id = 'o3'"
        ).fetchone()[0]
        assert raw_status == "on_hold"


def test_replay_refuses_a_missing_warehouse(tmp_path: Path, run_cli) -> None:
    result = run_cli("quality", "replay", "--warehouse", tmp_path / "nope.duckdb")
    assert result.exit_code == 2
    assert "nope.duckdb does not exist" in result.stderr
    assert not (tmp_path / "nope.duckdb").exists()  # refused, not created


def test_an_unparseable_row_rebuilt_by_an_analyst_is_written_into_raw(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        # What the extract does with a line no reader could split: payload NULL, line in _extra.
        con.execute(
            "insert into quarantine.shop_orders (_load_id, _source_file, _row_number, "
            "_loaded_at, _extra, failed_rules, quarantined_at) values ('shop-aaa', "
            "'shop/orders_1.csv', 6, '2026-11-01', '{\"raw_line\": \"o6;x\"}', "
            "['unparseable_row'], '2026-11-01')"
        )
        assert quarantine_load(con, "shop_orders", "shop-aaa") == 4  # re-run keeps row 6
        still_there = "select count(*) from quarantine.shop_orders where _row_number = 6"
        assert con.execute(still_there).fetchall()[0][0] == 1
        from python_models.quality.replay import replay_table

        assert replay_table(con, "shop_orders").released == 0  # all-NULL payload still fails
        con.execute(
            "update quarantine.shop_orders set order_id = 'o6', ordered_at = "
            "'2026-10-02T00:00:00Z', status = 'completed', currency = 'GBP' "
            "where _row_number = 6"
        )
        report = replay_table(con, "shop_orders")
        assert (report.released, report.released_with_edits) == (1, 1)
        assert ("o6", "completed") in con.execute(VALID_ROWS_SQL).fetchall()
        assert replay_table(con, "shop_orders").released == 0  # idempotent
        assert con.execute("select count(*) from raw.shop_orders").fetchall()[0][0] == 6

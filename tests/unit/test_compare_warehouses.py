"""The before/after warehouse comparison on small DuckDB files built here."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from python_models.benchmarks.compare_warehouses import main

BASE_SQL = """
create schema marts;
create schema audit;
create table marts.fct_orders (order_id varchar, amount decimal(18, 2), score double);
insert into marts.fct_orders values ('o1', 10.00, 0.1), ('o2', 20.00, 0.2), ('o3', null, 0.3);
create table marts.seg_vips (customer_key varchar, segment varchar);
insert into marts.seg_vips values ('c1', 'vips');
create table audit.load_audit (load_id varchar, rows_loaded bigint, loaded_at timestamp,
    run_id varchar);
insert into audit.load_audit values ('crm-1', 3, '2026-12-03 10:00:00', 'run-a');
"""


def build(path: Path, *statements: str) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute(BASE_SQL)
        for statement in statements:
            connection.execute(statement)
    return path


def run(capsys: pytest.CaptureFixture[str], *arguments: str | Path) -> tuple[int, str]:
    code = main([str(argument) for argument in arguments])
    return code, capsys.readouterr().out


@pytest.fixture
def before(tmp_path: Path) -> Path:
    return build(tmp_path / "before.duckdb")


def test_a_rebuild_in_another_row_order_and_run_is_identical(before, tmp_path, capsys):
    after = tmp_path / "after.duckdb"
    with duckdb.connect(str(after)) as connection:
        connection.execute(
            BASE_SQL.replace(
                "('o1', 10.00, 0.1), ('o2', 20.00, 0.2)", "('o2', 20.00, 0.2), ('o1', 10.00, 0.1)"
            )
        )
        # a later run: other wall-clock time and run id, a float summed in another order
        connection.execute(
            "update audit.load_audit set loaded_at = '2026-12-04 11:00:00', run_id = 'run-b'"
        )
        connection.execute("update marts.fct_orders set score = 0.1 + 1e-12 where order_id = 'o1'")
    code, out = run(capsys, before, after)
    assert code == 0, out
    assert "3 same: identical" in out
    assert "loaded_at" in out.splitlines()[2]  # the excluded columns are named


def test_a_changed_value_a_lost_row_and_a_dropped_table_are_reported(before, tmp_path, capsys):
    after = build(
        tmp_path / "after.duckdb",
        "update marts.fct_orders set amount = 11.00 where order_id = 'o1'",
        "delete from audit.load_audit",
        "drop table marts.seg_vips",
    )
    code, out = run(capsys, before, after)
    assert code == 1
    lines = {table: line for line in out.splitlines() for table in line.split() if "." in table}
    assert "values differ in: amount" in lines["marts.fct_orders"]
    assert "score" not in lines["marts.fct_orders"]
    assert "rows 1 -> 0" in lines["audit.load_audit"]
    assert lines["marts.seg_vips"].startswith("only before")


def test_duplicated_rows_are_not_cancelled_out(before, tmp_path, capsys):
    after = build(
        tmp_path / "after.duckdb",
        "insert into marts.seg_vips values ('c1', 'vips'), ('c1', 'vips')",
    )
    code, out = run(capsys, before, after)
    assert code == 1
    assert "rows 1 -> 3" in out


def test_a_moved_table_is_matched_by_the_rename_map(before, tmp_path, capsys):
    after = build(
        tmp_path / "after.duckdb",
        "create schema intermediate",
        "create table intermediate.int_segment_vips_members as from marts.seg_vips",
        "drop table marts.seg_vips",
        "create table intermediate.int_orders_keyed as from marts.fct_orders",
    )
    code, out = run(capsys, before, after)
    assert code == 1, "a table only in the second warehouse fails without --allow-new"
    assert "marts.seg_vips -> intermediate.int_segment_vips_members" in out
    assert "only after  intermediate.int_orders_keyed" in out
    code, out = run(capsys, before, after, "--allow-new")
    assert code == 0, out


def test_a_retyped_column_is_a_difference(before, tmp_path, capsys):
    after = build(
        tmp_path / "after.duckdb",
        "alter table marts.fct_orders alter amount type double",
    )
    code, out = run(capsys, before, after)
    assert code == 1
    assert "types changed: amount DECIMAL(18,2)->DOUBLE" in out


def test_a_missing_file_is_a_clear_error(before, tmp_path):
    with pytest.raises(SystemExit, match="no such warehouse file"):
        main([str(before), str(tmp_path / "nope.duckdb")])


def test_a_volatile_column_named_for_one_table_is_compared_in_the_others(tmp_path, capsys):
    """`dq.dq_scorecard.dq_score` moves with the wall clock; a dq_score elsewhere must not."""
    statements = [
        "create schema dq",
        "create table dq.dq_scorecard (source varchar, dq_score double)",
        "create table marts.scores (source varchar, dq_score double)",
    ]
    before = build(
        tmp_path / "before.duckdb",
        *statements,
        "insert into dq.dq_scorecard values ('crm', 0.8)",
        "insert into marts.scores values ('crm', 0.8)",
    )
    after = build(
        tmp_path / "after.duckdb",
        *statements,
        "insert into dq.dq_scorecard values ('crm', 0.7)",
        "insert into marts.scores values ('crm', 0.7)",
    )
    code, out = run(capsys, before, after)
    assert code == 1
    differing = [line for line in out.splitlines() if line.startswith("differs")]
    assert len(differing) == 1 and "marts.scores" in differing[0], out

"""The SQL yardstick: its verdicts on made-up summaries, and its hand-written SQL against the
tables dbt built from the committed sample (a copy of the session's sample warehouse)."""

import shutil
from pathlib import Path

import duckdb
import pytest

from python_models.benchmarks.sql_yardstick import (
    STAGES,
    RelationSummary,
    StageResult,
    as_of_utc_text,
    check_hand_written,
    compare_summaries,
    format_table,
    model_span_seconds,
    render_hand_written,
    select_stages,
    summary_query,
)

COLUMNS = (("order_id", "VARCHAR"), ("amount", "DECIMAL(18,2)"))


def summary(
    rows: int = 2,
    amount_checksum: str = "7",
    row_checksum: str = "9",
    columns: tuple[tuple[str, str], ...] = COLUMNS,
) -> RelationSummary:
    return RelationSummary(
        columns, rows, row_checksum, {"order_id": "5", "amount": amount_checksum}
    )


def test_identical_summaries_are_equal() -> None:
    comparison = compare_summaries("fct_orders", summary(), summary())
    assert comparison.equal
    assert comparison.differences == ()


def test_a_changed_value_names_the_column_that_differs() -> None:
    comparison = compare_summaries("fct_orders", summary(), summary(amount_checksum="8"))
    assert not comparison.equal
    assert comparison.differences == ("values differ in ['amount']",)


def test_missing_column_type_change_and_row_count_are_all_reported() -> None:
    hand = summary(rows=3, columns=(("order_id", "VARCHAR"),))
    comparison = compare_summaries("fct_orders", summary(), hand)
    assert "hand-written lacks columns ['amount']" in comparison.differences
    assert "rows 3 (dbt: 2)" in comparison.differences

    retyped = summary(columns=(("order_id", "VARCHAR"), ("amount", "DOUBLE")))
    assert compare_summaries("fct_orders", summary(), retyped).differences == (
        "amount: type DOUBLE (dbt: DECIMAL(18,2))",
    )


def test_checksums_ignore_row_order_but_not_values() -> None:
    connection = duckdb.connect()
    connection.execute("create table a as select * from (values ('o1', 1.5), ('o2', 2.0)) t(k, v)")
    connection.execute("create table b as select * from (values ('o2', 2.0), ('o1', 1.5)) t(k, v)")
    connection.execute("create table c as select * from (values ('o2', 2.0), ('o1', 1.6)) t(k, v)")
    a, b, c = (
        connection.execute(summary_query(t, ["k", "v"])).fetchall()[0] for t in ("a", "b", "c")
    )
    assert a == b
    assert a[0] == c[0] and a[1] != c[1]


def test_as_of_is_rendered_in_utc_as_dbt_does() -> None:
    assert as_of_utc_text("2026-11-01T00:00:00Z") == "2026-11-01 00:00:00"
    assert as_of_utc_text("2026-11-01T01:30:00+01:00") == "2026-11-01 00:30:00"
    assert as_of_utc_text("2026-11-01T00:00:00") == "2026-11-01 00:00:00"


def test_every_stage_has_hand_written_sql_that_renders() -> None:
    for stage in STAGES:
        sql = render_hand_written(stage.sql_file.read_text(), scratch="s", as_of="2026-11-01")
        for output in stage.outputs:
            assert f"s.{output.split('.')[-1]}" in sql


def test_unknown_stage_names_are_rejected_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="web_events_staging"):
        select_stages(["fct_everything"])
    assert [s.name for s in select_stages(["customer_rfm", "order_facts"])] == [
        "order_facts",
        "customer_rfm",
    ]


def test_table_flags_slow_stages_and_mismatches() -> None:
    slow = StageResult("order_facts", ("fct_orders",), 10, dbt_model_seconds=4.0, hand_seconds=2.0)
    slow.outputs_equal = False
    table = format_table([slow], "title")
    assert "2.00x" in table
    assert "NO <- slow" in table


def test_dbt_time_is_the_span_of_models_built_side_by_side_not_their_sum() -> None:
    def built(start: str, end: str) -> dict:
        return {
            "execution_time": 99.0,
            "timing": [
                {
                    "name": "execute",
                    "started_at": f"2026-11-25T10:00:{start}Z",
                    "completed_at": f"2026-11-25T10:00:{end}Z",
                },
            ],
        }

    assert model_span_seconds([built("00", "10"), built("02", "12")]) == 12.0
    assert model_span_seconds([{"execution_time": 1.5}, {"execution_time": 2.0}]) == 3.5


@pytest.mark.slow
def test_hand_written_sql_reproduces_every_dbt_output_on_the_sample(
    sample_pipeline, tmp_path: Path
) -> None:
    _, built = sample_pipeline
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built, warehouse)

    results = check_hand_written(warehouse, STAGES, memory_limit="1GB")

    mismatches = {
        r.stage: [d for c in r.comparisons for d in c.differences]
        for r in results
        if not r.outputs_equal
    }
    assert mismatches == {}
    assert all(r.rows > 0 for r in results)

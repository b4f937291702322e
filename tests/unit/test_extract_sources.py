"""The source registry matches the architecture contract, and header decisions are right."""

import re
from pathlib import Path

import duckdb
import pytest

from python_models.contract import CONTRACT as SOURCES
from python_models.contract import SOURCE_SYSTEMS, RawTable, tables_for
from python_models.extract.sql import (
    CSV_ORDINAL_COLUMN,
    create_table_sql,
    csv_insert_sql,
    explain_missing_columns,
    plan_columns,
    raw_columns,
    row_number_shifts_sql,
    shift_row_numbers_sql,
)

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def contract_columns() -> dict[str, tuple[str, ...]]:
    """`- **table**: `a, b, c`` bullets of docs/architecture.md (they may wrap lines)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    found = {}
    for table, body in re.findall(r"^- \*\*(\w+)\*\*[^`]*`([^`]+)`", text, flags=re.M):
        found[table] = tuple(c.strip() for c in body.replace("\n", " ").split(","))
    return found


def contract_layout() -> dict[str, tuple[str, str]]:
    """raw table → (landing glob, natural key) from the landing-layout table."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| `raw\.(\w+)` \| `([^`]+)` \|$", text, flags=re.M)
    return {table: (glob, key) for glob, table, key in rows}


def test_every_contract_table_is_registered_with_its_columns_in_file_order():
    columns = contract_columns()
    assert set(SOURCES) == set(contract_layout())
    for name, table in SOURCES.items():
        assert table.column_names == columns[name], name


def test_globs_and_natural_keys_match_the_landing_layout():
    for name, (glob, key) in contract_layout().items():
        assert SOURCES[name].glob == glob
        assert SOURCES[name].natural_key == tuple(k.strip() for k in key.split(","))


def test_one_multi_asset_per_source_system():
    assert SOURCE_SYSTEMS == ("crm", "web", "shop", "pos", "support", "consent", "catalog")
    assert [t.table for t in tables_for("shop")] == [
        "shop_orders", "shop_customers", "shop_order_lines",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown source system 'erp'"):
        tables_for("erp")


def test_a_registry_entry_with_a_key_outside_its_columns_is_refused():
    with pytest.raises(ValueError, match="not among its columns"):
        RawTable("x", "x_things", "x/*.csv", "csv", ("a",), ("b",), ("b",))


def test_header_matching_ignores_case_spacing_and_order():
    table = SOURCES["catalog_products"]
    plan = plan_columns([" Price", "PRODUCT_ID", "name", "colour"], table)
    assert plan.sources["price"] == " Price" and plan.sources["product_id"] == "PRODUCT_ID"
    assert plan.extra == ("colour",)
    assert plan.missing_required == ()
    assert plan.missing_optional == ("category", "tags", "currency")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["product_id;name;price"], "wrong delimiter: the header is ';'-separated"),
        (["product_id\tname"], "wrong delimiter: the header is tab-separated"),
        (["P1", "Blue mug", "4.99"], "missing header row"),
        (["name", "price"], "missing required column(s): product_id"),
    ],
)
def test_a_header_without_required_columns_is_explained(header, expected):
    table = SOURCES["catalog_products"]
    assert expected in explain_missing_columns(header, table, plan_columns(header, table))


@pytest.mark.parametrize(
    ("rejected", "expected"),
    [
        ([], [1, 2, 3, 4]),
        ([1], [2, 3, 4, 5]),
        ([2, 3], [1, 4, 5, 6]),
        ([1, 3, 6], [2, 4, 5, 7]),
        ([5, 6], [1, 2, 3, 4]),
    ],
)
def test_parsed_rows_get_their_row_number_in_the_file_around_rejected_ones(rejected, expected):
    con = duckdb.connect()
    con.execute("create table parsed as select range + 1 as _row_number from range(4)")
    con.execute("create table rejected (row_number bigint)")
    for row in rejected:
        con.execute("insert into rejected values (?)", [row])

    con.execute(shift_row_numbers_sql("parsed", "rejected"))

    numbers = [r[0] for r in con.execute("select _row_number from parsed order by 1").fetchall()]
    assert numbers == expected


@pytest.mark.parametrize(
    ("rejected", "expected"),
    [
        ([], [1, 2, 3, 4]),
        ([1], [2, 3, 4, 5]),
        ([2, 3], [1, 4, 5, 6]),
        ([1, 3, 6], [2, 4, 5, 7]),
        ([5, 6], [1, 2, 3, 4]),
        ([1, 2, 4, 5, 7], [3, 6, 8, 9]),
    ],
)
def test_a_staged_csv_is_inserted_with_its_row_numbers_in_the_file(rejected, expected):
    table = SOURCES["catalog_products"]
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(create_table_sql(f"raw.{table.table}", raw_columns(table)))
    con.execute(
        f"create table staged as select 'p' || range as product_id, "
        f"range + 1 as {CSV_ORDINAL_COLUMN} from range(4)"
    )
    con.execute("create table rejected (row_number bigint)")
    for row in rejected:
        con.execute("insert into rejected values (?)", [row])
    con.execute(f"create table shifts as {row_number_shifts_sql('rejected')}")
    plan = plan_columns(["product_id"], table)

    con.execute(
        csv_insert_sql(table, plan, "staged", "shifts"),
        {"load_id": "l", "source_file": "f.csv", "loaded_at": "2026-11-01 00:00:00"},
    )

    rows = con.execute(
        f"select product_id, _row_number from raw.{table.table} order by 2"
    ).fetchall()
    assert rows == [(f"p{i}", n) for i, n in enumerate(expected)]

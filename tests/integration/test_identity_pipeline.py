"""Identity resolution end to end on generated person records in a temporary warehouse.

Runs the Dagster asset (and its check), re-runs, adds data, and follows one person's key
through a merge and a split the way an analyst would see it in `identity.*`.
"""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.identity.resolution import (
    every_record_has_exactly_one_key,
    identity_resolution,
)
from python_models.identity.evaluate import evaluate_graph
from python_models.identity.pipeline import resolve_identities
from python_models.sample_data.person_records_sql import write_synthetic_records

INPUT = "intermediate.int_person_records_unioned"
PEOPLE = 1500


def graph_keys(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(
        con.execute(
            "select source_system || ':' || source_record_id, customer_key "
            "from identity.identity_graph"
        ).fetchall()
    )


def resolve(con: duckdb.DuckDBPyConnection, run_id: str, as_of: str):
    return resolve_identities(con, run_id, as_of, fuzzy_linker=None)


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        write_synthetic_records(con, INPUT, "main.truth", PEOPLE)
    return path


def test_dagster_asset_materialises_identity_tables_and_passes_its_check(warehouse: Path):
    result = dg.materialize(
        [identity_resolution, every_record_has_exactly_one_key],
        resources={"duckdb": DuckDBResource(database=str(warehouse))},
        run_config={"ops": {"identity_resolution": {"config": {"use_fuzzy_links": False}}}},
    )
    assert result.success
    materialised = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    assert set(materialised) == {
        "identity/identity_graph",
        "identity/identity_links",
        "identity/identity_review_queue",
        "identity/identity_merges",
        "identity/identity_splits",
        "identity/identity_runs",
    }
    graph_meta = materialised["identity/identity_graph"]
    with duckdb.connect(str(warehouse)) as con:
        records = con.execute(f"select count(*) from {INPUT}").fetchall()[0][0]
    assert graph_meta["records"].value == records
    assert 0 < graph_meta["clusters"].value < records
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]


def test_rerun_adding_data_merge_and_split_keep_keys_stable(warehouse: Path):
    con = duckdb.connect(str(warehouse))
    first = resolve(con, "run-1", "2026-10-01T00:00:00Z")
    keys_1 = graph_keys(con)
    assert len(keys_1) == first.records

    # same input again: nothing changes but the run id
    second = resolve(con, "run-2", "2026-10-02T00:00:00Z")
    assert graph_keys(con) == keys_1
    assert (second.new_keys, second.merges, second.splits) == (0, 0, 0)

    # new people arrive, and a new order for an existing person (one without a web account,
    # so that an order naming a web account below joins two people who do not conflict)
    with_web_account = {k for r, k in keys_1.items() if r.startswith("web_user:")}
    crm_record = min(
        r for r in keys_1 if r.startswith("crm:") and keys_1[r] not in with_web_account
    )
    crm_id = crm_record.removeprefix("crm:")
    web_record = min(
        r for r in keys_1 if r.startswith("web_user:") and keys_1[r] != keys_1[crm_record]
    )
    user_id = web_record.removeprefix("web_user:")
    write_synthetic_records(con, INPUT, "main.truth", 200, offset=PEOPLE, append=True)
    con.execute(
        f"insert into {INPUT} (source_system, source_record_id, crm_id, given_name) "
        "values ('shop', 'NEW-ORDER-1', ?, 'Someone')",
        [crm_id],
    )
    third = resolve(con, "run-3", "2026-10-03T00:00:00Z")
    keys_3 = graph_keys(con)
    assert {r: keys_3[r] for r in keys_1} == keys_1, "existing records were re-keyed"
    assert keys_3["shop:NEW-ORDER-1"] == keys_1[crm_record]
    assert third.merges == 0 and third.new_keys > 0

    # an order naming one person's crm id and another's web account joins the two
    a, b = keys_3[crm_record], keys_3[web_record]
    assert a != b
    con.execute(
        f"insert into {INPUT} (source_system, source_record_id, crm_id, user_id) "
        "values ('shop', 'BRIDGE-1', ?, ?)",
        [crm_id, user_id],
    )
    fourth = resolve(con, "run-4", "2026-10-04T00:00:00Z")
    keys_4 = graph_keys(con)
    survivor, merged = min(a, b), max(a, b)  # same age: the smaller key survives
    assert keys_4[crm_record] == keys_4[web_record] == survivor
    assert fourth.merges == 1
    merges = con.execute(
        "select run_id, surviving_key, merged_key from identity.identity_merges"
    ).fetchall()
    assert merges == [("run-4", survivor, merged)]
    evidence = con.execute("select evidence from identity.identity_merges").fetchall()[0][0]
    assert "BRIDGE-1" in evidence and ("web_user_id" in evidence or "crm_id" in evidence)
    untouched = {r: k for r, k in keys_3.items() if k not in (a, b)}
    assert {r: keys_4[r] for r in untouched} == untouched

    # the bridging order was a mistake and is deleted: the people separate again
    con.execute(f"delete from {INPUT} where source_record_id = 'BRIDGE-1'")
    fifth = resolve(con, "run-5", "2026-10-05T00:00:00Z")
    keys_5 = graph_keys(con)
    assert fifth.splits == 1
    assert keys_5[crm_record] != keys_5[web_record]
    sizes = {k: list(keys_5.values()).count(k) for k in (keys_5[crm_record], keys_5[web_record])}
    larger = max(sizes, key=lambda k: sizes[k])
    assert larger == survivor
    splits = con.execute("select run_id, original_key from identity.identity_splits").fetchall()
    assert splits == [("run-5", survivor)]
    assert fifth.records_removed == 1
    con.close()


def test_real_matcher_run_is_precise_and_the_evaluation_cli_reports_it(
    warehouse: Path, tmp_path: Path, run_cli
):
    pytest.importorskip("python_models.identity.predict")
    con = duckdb.connect(str(warehouse))
    report = resolve_identities(con, "run-fuzzy", "2026-11-01T00:00:00Z")
    assert report.fuzzy_status == "ok"
    # the matcher's adaptive household guard says what it decided, in the stored report
    stored = con.execute("select report->'guards'->'household_guard' from identity.identity_runs")
    assert json.loads(stored.fetchone()[0])["reason"] == report.guards["household_guard"]["reason"]
    metrics = evaluate_graph(con, "main.truth").set_index(["scope", "metric"])["value"]
    truth_dir = tmp_path / "truth"
    truth_dir.mkdir()
    con.execute(f"copy main.truth to '{truth_dir / 'records.csv'}' (header)")
    con.close()

    assert metrics["overall", "pairwise_precision"] >= 0.995
    # this generator leaves ~9% of pairs unlinkable (devices that never log in)
    assert metrics["overall", "pairwise_recall"] >= 0.88

    result = run_cli("identity", "evaluate", "--warehouse", warehouse, "--truth", truth_dir)
    assert result.exit_code == 0, result.output
    printed = result.stdout
    assert "pairwise_precision" in printed and "web_anonymous" in printed
    with duckdb.connect(str(warehouse)) as con:
        stored = con.execute(
            "select run_id, value from identity.identity_evaluation "
            "where scope = 'overall' and metric = 'pairwise_precision'"
        ).fetchall()
    assert stored == [("run-fuzzy", pytest.approx(metrics["overall", "pairwise_precision"]))]


def _links_and_keys(path: Path, threads: int, row_order: str) -> tuple[list[tuple], dict[str, str]]:
    """Resolve with fuzzy links on, in a fresh warehouse, on `threads` DuckDB threads, with
    the input table's rows stored in `row_order` (as a rebuilt dbt table may store them)."""
    with duckdb.connect(str(path)) as con:
        con.execute(f"set threads = {threads}")
        con.execute("create schema intermediate")
        write_synthetic_records(con, "main.generated", "main.truth", 600)
        con.execute(f"create table {INPUT} as select * from main.generated order by {row_order}")
        report = resolve_identities(con, "run-x", "2026-11-01T00:00:00Z")
        assert report.fuzzy_status == "ok"
        links = con.execute(
            "select left_source_system, left_record_id, right_source_system, right_record_id,"
            " rule, decision, round(match_weight, 9), evidence::VARCHAR "
            "from identity.identity_links order by all"
        ).fetchall()
        return links, graph_keys(con)


def test_identical_input_gives_identical_fuzzy_links_and_keys_on_any_thread_count(
    tmp_path: Path,
):
    # fresh warehouses, so no key is carried over from a previous graph: the keys are
    # minted from the clusters alone and differ if a single link differs
    links_1, keys_1 = _links_and_keys(tmp_path / "one.duckdb", 1, "source_record_id")
    links_2, keys_2 = _links_and_keys(
        tmp_path / "two.duckdb", 4, "hash(source_record_id || 'shuffle')"
    )
    assert any(link[4] == "fuzzy" and link[5] == "auto_link" for link in links_1)
    assert links_1 == links_2
    assert keys_1 == keys_2

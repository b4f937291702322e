"""Scale benchmark: this project's matcher vs Splink on N synthetic (or given) records.

    python -m python_models.benchmarks.identity_scale --records 100000 [--engines ours,splink]
    python -m python_models.benchmarks.identity_scale --input people.parquet
    python -m python_models.benchmarks.identity_scale --records 5000 --names-only

`--names-only` drops birth dates, emails and phones (names and addresses only, the common CRM
case) before either engine sees the records.

Each engine runs in its own process so its peak RSS is its own. Prints seconds, candidate
pairs, pairs per second, peak RSS and pairwise F1 against `person_id`.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import pandas as pd

from orchestration.settings import get_settings
from python_models.benchmarks.engines import report_engine_run, run_engine_in_child
from python_models.identity import (
    ColumnMapping,
    MatchConfig,
    cluster_records,
    pairwise_metrics,
    score_links_into,
)
from python_models.warehouse import connect

SYNTHETIC_MAPPING = ColumnMapping(
    record_id="record_id",
    given_name="given_name",
    family_name="family_name",
    email="email",
    phone="phone",
    street="street",
    city="city",
    postcode="postcode",
    birth_date="birth_date",
)


# What `--names-only` leaves out: birth dates and the identifiers.
NAMES_ONLY_DROPPED = ("birth_date", "email", "phone")


def _columns(parquet: Path) -> set[str]:
    return set(pd.read_parquet(parquet).head(0).columns)


def run_ours(parquet: Path) -> dict:
    started = time.perf_counter()
    con = connect(":memory:", memory_limit=get_settings().duckdb_memory_limit)
    source = str(parquet).replace("'", "''")
    con.execute(f"create view people as select * from read_parquet('{source}')")
    config = MatchConfig(default_country_code="44")
    absent = {role: None for role in NAMES_ONLY_DROPPED if role not in _columns(parquet)}
    mapping = dataclasses.replace(SYNTHETIC_MAPPING, **absent)
    stats = score_links_into(con, "people", mapping, config, "links")
    ids = con.execute("select record_id, person_id from people").df()
    auto = con.execute("select left_id, right_id from links where decision = 'auto_link'").df()
    labels = cluster_records(ids["record_id"], auto["left_id"], auto["right_id"])
    seconds = time.perf_counter() - started
    quality = pairwise_metrics(labels, ids["person_id"].values)
    return {
        "engine": "ours",
        "seconds": seconds,
        "candidate_pairs": stats.candidate_pairs,
        "precision": quality["precision"],
        "recall": quality["recall"],
        "f1": quality["f1"],
        "seconds_by_step": stats.seconds_by_step,
        "skipped_blocks_by_rule": stats.skipped_blocks_by_rule,
    }


# Splink does not clean data; its docs ask for standardised input, so the baseline gets the
# usual light SQL cleaning (inside its timing).
_SPLINK_CLEANING = """
    select record_id, person_id,
        nullif(lower(trim(given_name)), '') as given_name,
        nullif(lower(trim(family_name)), '') as family_name,
        nullif(lower(trim(email)), '') as email,
        nullif(right(regexp_replace(phone, '[^0-9]', '', 'g'), 10), '') as phone,
        nullif(lower(trim(street)), '') as street,
        nullif(lower(trim(city)), '') as city,
        nullif(upper(trim(postcode)), '') as postcode,
        strftime(coalesce(try_strptime(birth_date, '%Y-%m-%d'),
                          try_strptime(birth_date, '%d/%m/%Y')), '%Y-%m-%d') as birth_date
    from read_parquet('{path}')
"""


def run_splink(parquet: Path) -> dict:
    from splink import block_on

    from python_models.benchmarks.identity_splink import (
        person_comparisons,
        person_prediction_rules,
        splink_clusters,
    )

    started = time.perf_counter()
    path = str(parquet).replace("'", "''")
    names_only = not set(NAMES_ONLY_DROPPED) & _columns(parquet)
    cleaning = _SPLINK_CLEANING.format(path=path)
    comparisons, rules = person_comparisons(), person_prediction_rules()
    em_rules = [block_on("birth_date"), block_on("postcode", "family_name")]
    if names_only:
        # the same cleaning, comparisons and rules without the dropped columns
        cleaning = "\n".join(
            line
            for line in cleaning.splitlines()
            if not any(f"as {c}" in line or f"({c}," in line for c in NAMES_ONLY_DROPPED)
            and "try_strptime" not in line
        )
        comparisons = [comparisons[i] for i in (0, 1, 5, 6, 7)]
        rules = [
            block_on("postcode", "family_name"),
            block_on("family_name", "substr(given_name, 1, 3)"),
        ]
        rules.append(block_on("given_name", "substr(postcode, 1, 3)"))
        em_rules = [block_on("given_name", "family_name"), block_on("postcode", "family_name")]
    data = (
        connect(":memory:", memory_limit=get_settings().duckdb_memory_limit).execute(cleaning).df()
    )
    truth = data.set_index("record_id")["person_id"]
    clusters = splink_clusters(
        data.drop(columns=["person_id"]),
        "record_id",
        comparisons=comparisons,
        prediction_rules=rules,
        em_rules=em_rules,
    )
    seconds = time.perf_counter() - started
    pred = clusters.set_index("unique_id")["cluster_id"].reindex(truth.index)
    quality = pairwise_metrics(pred.values, truth.values)
    return {
        "engine": "splink",
        "seconds": seconds,
        "candidate_pairs": clusters.attrs["pairs"],
        "precision": quality["precision"],
        "recall": quality["recall"],
        "f1": quality["f1"],
    }


def _child(engine: str, parquet: Path) -> int:
    return report_engine_run(lambda: {"ours": run_ours, "splink": run_splink}[engine](parquet))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--input", type=Path, help="parquet with SYNTHETIC_MAPPING columns")
    parser.add_argument("--engines", default="ours,splink")
    parser.add_argument(
        "--names-only",
        action="store_true",
        help="drop birth dates, emails and phones first (names and addresses only)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.input)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = args.input
        if parquet is None:
            from python_models.sample_data.person_records import generate_people

            parquet = Path(tmp) / "people.parquet"
            started = time.perf_counter()
            generate_people(args.records).to_parquet(parquet, index=False)
            print(f"generated {args.records:,} records in {time.perf_counter() - started:.1f}s")
        if args.names_only:
            names_only = Path(tmp) / "people_names_only.parquet"
            people = pd.read_parquet(parquet)
            people.drop(columns=[c for c in NAMES_ONLY_DROPPED if c in people]).to_parquet(
                names_only, index=False
            )
            parquet = names_only
        n = len(pd.read_parquet(parquet, columns=["record_id"]))
        print(f"{'engine':8} {'records':>9} {'seconds':>8} {'CPU s':>8} {'pairs':>11} "
              f"{'pairs/s':>10} {'RSS MB':>8} {'P':>7} {'R':>7} {'F1':>7}")  # fmt: skip
        for engine in args.engines.split(","):
            r = run_engine_in_child(__spec__.name, engine, parquet)
            if r is None:
                continue
            print(
                f"{engine:8} {n:9,} {r['seconds']:8.1f} {r['cpu_seconds']:8.1f} "
                f"{r['candidate_pairs']:11,} "
                f"{r['candidate_pairs'] / r['seconds']:10,.0f} {r['peak_rss_mb']:8.0f} "
                f"{r['precision']:7.4f} {r['recall']:7.4f} {r['f1']:7.4f}"
            )
            if "seconds_by_step" in r:
                print(f"         steps: {r['seconds_by_step']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

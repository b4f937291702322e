"""Benchmark identity resolution on generated person records.

    python -m python_models.benchmarks.identity_resolve --people 100000 [--no-fuzzy] [--out DIR]

Generates `people` synthetic people (~4.8 records each, see `synthetic`) into a fresh
DuckDB file, resolves twice (a first run, then an idempotent re-run), scores the graph
against the truth and prints one JSON object: timings per stage, peak memory of this
process (RSS, includes DuckDB) and precision/recall.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from orchestration.settings import get_settings
from python_models.benchmarks.memory import PeakMemory
from python_models.identity.evaluate import evaluate_graph
from python_models.identity.pipeline import resolve_identities
from python_models.sample_data.person_records_sql import write_synthetic_records
from python_models.warehouse import connect


def run_benchmark(people: int, fuzzy: bool, workdir: Path, memory_limit: str) -> dict:
    path = workdir / f"identity_bench_{people}.duckdb"
    path.unlink(missing_ok=True)
    con = connect(path, memory_limit=memory_limit)
    con.execute("create schema intermediate")
    started = time.perf_counter()
    records = write_synthetic_records(
        con, "intermediate.int_person_records_unioned", "main.truth", people
    )
    generate_seconds = time.perf_counter() - started
    linker = {} if fuzzy else {"fuzzy_linker": None}
    with PeakMemory() as memory:
        first = resolve_identities(con, "bench-1", "2026-11-01T00:00:00Z", **linker)
        second = resolve_identities(con, "bench-2", "2026-11-02T00:00:00Z", **linker)
    metrics = evaluate_graph(con, "main.truth")
    overall = metrics[metrics["scope"] == "overall"].set_index("metric")["value"]
    con.close()
    path.unlink(missing_ok=True)
    return {
        "people": people,
        "records": records,
        "fuzzy": fuzzy,
        "generate_seconds": round(generate_seconds, 1),
        "first_run": first.as_metadata(),
        "rerun_seconds": round(second.seconds, 2),
        "rerun_changed_keys": second.new_keys + second.merges + second.splits,
        "peak_rss_mb": memory.peak_mb,
        "pairwise_precision": round(float(overall["pairwise_precision"]), 5),
        "pairwise_recall": round(float(overall["pairwise_recall"]), 5),
        "b3_f1": round(float(overall["b3_f1"]), 5),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--no-fuzzy", action="store_true", help="deterministic links only")
    parser.add_argument("--out", type=Path, default=None, help="scratch dir (default: tmp)")
    parser.add_argument(
        "--memory-limit",
        default=get_settings().duckdb_memory_limit,
        help="DuckDB memory_limit (default: the settings')",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.out) as scratch:
        result = run_benchmark(args.people, not args.no_fuzzy, Path(scratch), args.memory_limit)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

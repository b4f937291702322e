"""Benchmark micro-segmentation at scale: `python -m python_models.benchmarks.clustering --rows N`.

Writes N synthetic customers into a throw-away DuckDB file, then times the same
`run_segmentation` the Dagster asset runs (sample, train, score all, write) and reports the
peak resident memory of the process. Data generation is timed separately.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import psutil

from orchestration.settings import get_settings
from python_models.benchmarks.memory import PeakMemory
from python_models.clustering.pipeline import SegmentationSettings, run_segmentation
from python_models.sample_data.customer_features import (
    OVERLAPPING_PERSONAS,
    PERSONAS,
    synthetic_customer_features,
)
from python_models.warehouse import connect


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--easy", action="store_true", help="only the four well-separated personas")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="c360-cluster-bench-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        personas = PERSONAS if args.easy else PERSONAS | OVERLAPPING_PERSONAS
        frame, _ = synthetic_customer_features(args.rows, seed=args.seed, personas=personas)
        con = connect(workdir / "bench.duckdb", memory_limit=get_settings().duckdb_memory_limit)
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_customer_features as select * from frame")
        del frame
        generate_s = time.perf_counter() - started

        settings = SegmentationSettings(model_dir=workdir / "models", train_sample_size=args.sample)
        process = psutil.Process()
        with PeakMemory() as memory:
            started = time.perf_counter()
            cpu_before = sum(process.cpu_times()[:2])
            trained = run_segmentation(con, settings)
            train_run_s = time.perf_counter() - started
            train_cpu_s = sum(process.cpu_times()[:2]) - cpu_before
            started = time.perf_counter()
            assigned = run_segmentation(con, settings)
            assign_run_s = time.perf_counter() - started
        con.close()

    report = {
        "rows": args.rows,
        "train_sample": args.sample,
        "generate_seconds": round(generate_s, 1),
        "train_and_score_seconds": round(train_run_s, 1),
        "train_and_score_cpu_seconds": round(train_cpu_s, 1),
        "train_run_stages": trained.seconds,
        "load_average_1m": round(psutil.getloadavg()[0], 1),
        "assign_only_seconds": round(assign_run_s, 1),
        "assign_run_stages": assigned.seconds,
        "peak_rss_gb": round(memory.peak / 1e9, 2),
        "k": trained.model.k,
        "algorithm": trained.model.algorithm,
        "silhouette": trained.model.metrics.get("kmeans_silhouette"),
        "sizes": trained.sizes,
        "labels": trained.model.labels,
    }
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()

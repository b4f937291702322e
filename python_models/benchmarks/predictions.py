"""`make bench-predictions SCALE=N`: time the prediction stages at N customers, with peak memory.

Stages, each measured separately (wall seconds, CPU seconds and the peak RSS of this
process, which includes DuckDB's buffers): scoring features for everyone at `as_of`,
training features for the sampled customers at the training and test cutoffs, training
(two model families, grid search, calibration), scoring (probabilities, bands, reasons),
CLV (holdout check + fit + predict for everyone) and recommendations (evaluation, fit,
top 10 for everyone). Input: a bench warehouse of the prediction tables, generated in
DuckDB SQL (python_models/sample_data/prediction_tables.py) into
`bench_out/predictions-<N>/warehouse.duckdb` and reused with `--keep`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from orchestration.settings import PROJECT_ROOT
from python_models.benchmarks.memory import PeakMemory, cpu_seconds
from python_models.predictions.pipeline import (
    ChurnSettings,
    ClvSettings,
    RecommendationSettings,
    run_churn,
    run_clv,
    run_recommendations,
)
from python_models.sample_data.prediction_tables import (
    CONSENT_TABLE,
    SOURCES,
    generate_prediction_tables,
)
from python_models.warehouse import connect

AS_OF = "2026-11-01T00:00:00"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="customers")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench_out")
    parser.add_argument("--keep", action="store_true", help="reuse generated tables")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit")
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="only (re)generate the tables, so the timed run (--keep) is a short one",
    )
    args = parser.parse_args(argv)

    work = (args.out / f"predictions-{args.scale}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    database = work / "warehouse.duckdb"
    rows: list[dict] = []

    def record(stage: str, seconds: float, cpu: float, peak: float, detail: str = "") -> None:
        rows.append(
            {
                "stage": stage,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "peak_rss_mb": round(peak),
                "detail": detail,
            }
        )
        print(
            f"{stage:<28}{seconds:>9.1f} s{cpu:>9.1f} CPU s{peak:>9,.0f} MB  {detail}", flush=True
        )

    with PeakMemory(include_children=False) as memory:
        if not (args.keep and database.exists()):
            database.unlink(missing_ok=True)
            started, cpu0 = time.perf_counter(), cpu_seconds()
            with connect(database, memory_limit=args.memory_limit) as con:
                counts = generate_prediction_tables(con, args.scale)
            record(
                "generate tables",
                time.perf_counter() - started,
                cpu_seconds() - cpu0,
                memory.peak / 2**20,
                json.dumps(counts),
            )
        if args.generate_only:
            return 0
        with connect(database, memory_limit=args.memory_limit) as con:
            memory.peak = memory.sample()
            started, cpu0 = time.perf_counter(), cpu_seconds()
            churn = run_churn(
                con,
                ChurnSettings(
                    model_dir=Path(tempfile.mkdtemp(dir=work)),
                    sources=SOURCES,
                    training_consent=CONSENT_TABLE,
                    force_retrain=True,
                ),
                AS_OF,
            )
            churn_cpu, churn_peak = cpu_seconds() - cpu0, memory.peak / 2**20
            s = churn.seconds
            evaluation = churn.evaluation
            chosen = evaluation.candidates[evaluation.chosen] if evaluation else {}
            for name, key in (
                ("churn: scoring features", "score_features"),
                ("churn: training features", "train_features"),
                ("churn: training", "train"),
                ("churn: scoring + reasons", "score"),
            ):
                record(
                    name,
                    s.get(key, 0.0),
                    churn.cpu_seconds.get(key, float("nan")),
                    churn_peak,
                    f"{churn.n_scored:,} scored, reasons {json.dumps(churn.reasons)}"
                    if key == "score"
                    else "",
                )
            record(
                "churn: total",
                time.perf_counter() - started,
                churn_cpu,
                churn_peak,
                f"{evaluation.n_train_rows:,} training rows, test ROC-AUC "
                f"{chosen.get('roc_auc', float('nan')):.3f}"
                if evaluation
                else "",
            )

            memory.peak = memory.sample()
            started, cpu0 = time.perf_counter(), cpu_seconds()
            clv = run_clv(con, ClvSettings(sources=SOURCES, training_consent=CONSENT_TABLE), AS_OF)
            record(
                "clv",
                time.perf_counter() - started,
                cpu_seconds() - cpu0,
                memory.peak / 2**20,
                f"{clv.n_scored:,} scored, holdout purchases total error "
                f"{clv.holdout.purchases_total_error:+.1%}",
            )

            memory.peak = memory.sample()
            started, cpu0 = time.perf_counter(), cpu_seconds()
            recs = run_recommendations(
                con, RecommendationSettings(sources=SOURCES, consent=CONSENT_TABLE), AS_OF
            )
            hybrid = recs.evaluation.get("hybrid", {})
            for method, m in recs.evaluation.items():
                print(
                    f"  {method:<12} precision@10 {m['precision_at_10']:.4f}  "
                    f"recall@10 {m['recall_at_10']:.4f}  coverage {m['coverage']:.3f}",
                    flush=True,
                )
            record(
                "recommendations",
                time.perf_counter() - started,
                cpu_seconds() - cpu0,
                memory.peak / 2**20,
                f"{recs.n_rows:,} rows, p@10 {hybrid.get('precision_at_10', 0):.3f} "
                f"({hybrid.get('lift_vs_popularity', 0):+.0%} vs popularity); "
                f"{json.dumps(recs.seconds)}",
            )
    total = sum(
        r["seconds"] for r in rows if r["stage"] in ("churn: total", "clv", "recommendations")
    )
    peak = max(r["peak_rss_mb"] for r in rows if r["stage"] != "generate tables")
    print(f"\nprediction stage at {args.scale:,} customers: {total:.1f} s, peak RSS {peak:,} MB")
    (work / "bench.json").write_text(
        json.dumps(
            {"scale": args.scale, "stages": rows, "total_seconds": total, "peak_rss_mb": peak},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

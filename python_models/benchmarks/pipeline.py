"""`make bench SCALE=N`: time every heavy stage of the pipeline on N generated customers.

The pipeline's assets are cut into phases in dependency order (extract, dbt, identity,
dbt, models, ...); each phase runs in its own process through the same CLI the demo uses,
while a sampler follows the process tree's resident memory. Output: one row per phase with
rows written, seconds, rows/s and peak RSS, plus the generator itself, as a table and as
`bench_out/<N>/bench.json`. Then the next day's delivery is loaded "as of" the next midnight
and the per-load phases (extract, data quality) run again: the daily run's incremental cost.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestration.settings import PROJECT_ROOT, get_settings
from python_models.benchmarks.memory import PeakMemory, cpu_seconds
from python_models.warehouse import connect

STAGE_OF_GROUP = {
    "extract": "extract",
    "identity": "identity resolution",
    "models": "python models",
    "quality": "data quality",
    "activation": "exports",
}


@dataclass
class StageResult:
    stage: str
    rows: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def stage_name(group: str | None) -> str:
    return STAGE_OF_GROUP.get(group or "", "dbt build")


def phase_label(stage: str, keys: Sequence[dg.AssetKey]) -> str:
    """'dbt build' phases say which warehouse layers they built, e.g. 'dbt build: marts'."""
    if stage != "dbt build":
        return stage
    layers = sorted({k.path[0] for k in keys if len(k.path) == 2})
    return f"dbt build: {', '.join(layers)}"


def plan_phases(definitions: dg.Definitions) -> list[tuple[str, list[dg.AssetKey]]]:
    """Cut the asset graph into consecutive phases of one stage each, in dependency order.

    Greedy: keep taking every ready asset of the current stage; switch stage only when none
    is ready, so each stage runs in as few phases as the dependencies allow.
    """
    graph = definitions.resolve_asset_graph()
    keys = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    parents = {k: {p for p in graph.get(k).parent_keys if p in keys} for k in keys}
    stage = {k: stage_name(graph.get(k).group_name) for k in keys}
    done: set[dg.AssetKey] = set()
    phases: list[tuple[str, list[dg.AssetKey]]] = []
    while len(done) < len(keys):
        ready = [k for k in keys - done if parents[k] <= done]
        current = phases[-1][0] if phases else None
        same = [k for k in ready if stage[k] == current]
        if not same:
            current = sorted({stage[k] for k in ready})[0]
            phases.append((current, []))
        batch = [k for k in ready if stage[k] == current]
        while batch:  # close the stage over its own newly ready assets
            phases[-1][1].extend(batch)
            done.update(batch)
            batch = [k for k in keys - done if parents[k] <= done and stage[k] == current]
    return phases


def rows_in(database: Path, keys: Sequence[dg.AssetKey]) -> int:
    """Rows now in the tables these assets write (asset key = schema/table)."""
    if not database.exists():
        return 0
    total = 0
    with connect(database, memory_limit=get_settings().duckdb_memory_limit, read_only=True) as con:
        for key in keys:
            if len(key.path) != 2:
                continue
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                key.path,
            ).fetchone()[0]
            if exists:
                total += con.execute(
                    f'select count(*) from "{key.path[0]}"."{key.path[1]}"'
                ).fetchone()[0]
    return total


def run_measured(command: Sequence[str], env: dict[str, str]) -> tuple[float, float, int, float]:
    """Run a command; return (seconds, peak RSS of its process tree in MB, exit code, CPU s).

    CPU seconds (user + system of the whole tree) tell cost apart from waiting for a busy
    machine: on 2 cores, wall time near CPU time / 2 means the stage used both cores.
    """
    cpu_before = cpu_seconds(children=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)
    with PeakMemory(pid=process.pid, interval=0.2) as memory:
        code = process.wait()
    cpu = cpu_seconds(children=True) - cpu_before
    return time.perf_counter() - started, memory.peak_mb, code, cpu


def print_table(scale: int, results: Sequence[StageResult]) -> None:
    print(f"\ncustomer360 benchmark, {scale:,} customers, {os.cpu_count()} cores")
    print(f"{'stage':<40}{'rows':>14}{'seconds':>10}{'CPU s':>9}{'rows/s':>14}{'peak RSS MB':>13}")
    for r in results:
        print(
            f"{r.stage:<40}{r.rows:>14,}{r.seconds:>10.1f}{r.cpu_seconds:>9.1f}"
            f"{r.rows_per_second:>14,.0f}{r.peak_rss_mb:>13,.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000, help="customers to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench_out")
    parser.add_argument("--keep", action="store_true", help="reuse generated data if present")
    parser.add_argument(
        "--from-phase",
        type=int,
        default=1,
        help="resume: keep the warehouse and start at this phase (with --keep)",
    )
    parser.add_argument(
        "--next-day",
        choices=("incremental", "full", "none"),
        default="incremental",
        help="then load the next day's delivery: re-run the phases that work per load "
        "(extract, data quality; the default), every phase, or nothing",
    )
    args = parser.parse_args(argv)

    work = (args.out / str(args.scale)).resolve()
    landing, truth, database = work / "landing", work / "truth", work / "warehouse.duckdb"
    env = {
        **os.environ,
        "CUSTOMER360_WAREHOUSE": str(database),
        "CUSTOMER360_LANDING_DIR": str(landing),
        "CUSTOMER360_MODEL_DIR": str(work / "models"),
        "CUSTOMER360_DQ_DIR": str(work / "dq"),
    }
    results: list[StageResult] = []
    if not (args.keep and landing.exists()):
        subprocess.run(["rm", "-rf", str(work)], check=True)
        work.mkdir(parents=True)
        seconds, peak, code, cpu = run_measured(
            [
                sys.executable,
                "-m",
                "orchestration.cli",
                "sample",
                "--customers",
                str(args.scale),
                "--seed",
                str(args.seed),
                "--out",
                str(landing),
                "--truth-out",
                str(truth),
            ],
            env,
        )
        if code:
            return code
        generated = sum(1 for f in landing.rglob("*") if f.is_file())
        results.append(StageResult(f"generate ({generated} files)", args.scale, seconds, peak, cpu))
    if args.from_phase == 1:
        database.unlink(missing_ok=True)

    os.environ.update(env)
    from orchestration.cli import load_definitions

    phases = plan_phases(load_definitions())
    code = run_phases(phases, env, database, args.scale, results, prefix="", start=args.from_phase)
    if code:
        return code
    if args.next_day != "none":
        code = run_next_day(work, env, database, args.scale, results, phases, args.next_day)
        if code:
            return code

    print_table(args.scale, results)
    identity = last_identity_run(database)
    if identity:
        print(identity_summary(identity))
    stages = [asdict(r) | {"rows_per_second": r.rows_per_second} for r in results]
    (work / "bench.json").write_text(
        json.dumps({"stages": stages, "identity_run": identity}, indent=2, default=str)
    )
    return 0


def run_phases(
    phases: Sequence[tuple[str, list[dg.AssetKey]]],
    env: dict[str, str],
    database: Path,
    scale: int,
    results: list[StageResult],
    prefix: str,
    start: int = 1,
) -> int:
    """Run each phase (from number `start`) through `customer360 run`, measuring it; the first
    failing exit code."""
    for index, (stage, keys) in enumerate(phases, start=1):
        if index < start:
            continue
        selection = " or ".join(f'key:"{k.to_user_string()}"' for k in keys)
        seconds, peak, code, cpu = run_measured(
            [sys.executable, "-m", "orchestration.cli", "run", selection], env
        )
        if code:
            print(f"{prefix}phase {index} ({stage}) failed with exit code {code}")
            return code
        label = f"{prefix}{index}. {phase_label(stage, keys)}"
        results.append(StageResult(label, rows_in(database, keys), seconds, peak, cpu))
        print_table(scale, results)
    return 0


NEXT_DAY_STAGES = ("extract", "data quality")


def run_next_day(
    work: Path,
    env: dict[str, str],
    database: Path,
    scale: int,
    results: list[StageResult],
    phases: Sequence[tuple[str, list[dg.AssetKey]]],
    mode: str,
) -> int:
    """Write the next day's delivery (`customer360 next-day`) and run the phases again on it,
    "as of" the next midnight: what a daily scheduled run costs once history is loaded."""
    day_two = work / "landing_day2"
    seconds, peak, code, cpu = run_measured(
        [sys.executable, "-m", "orchestration.cli", "next-day", "--sample", str(work / "landing"),
         "--out", str(day_two)],
        env,
    )  # fmt: skip
    if code:
        return code
    files = sum(1 for f in day_two.rglob("*") if f.is_file())
    results.append(StageResult(f"next day: generate ({files} files)", 0, seconds, peak, cpu))
    first = datetime.fromisoformat(get_settings().as_of)
    day_env = {
        **env,
        "CUSTOMER360_LANDING_DIR": str(day_two),
        "CUSTOMER360_AS_OF": (first + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    chosen = [p for p in phases if mode == "full" or p[0] in NEXT_DAY_STAGES]
    return run_phases(chosen, day_env, database, scale, results, prefix="next day ")


def last_identity_run(database: Path) -> dict | None:
    """The latest `identity.identity_runs` report (None before identity ever ran)."""
    if not database.exists():
        return None
    with connect(database, memory_limit=get_settings().duckdb_memory_limit, read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'identity' and table_name = 'identity_runs'"
        ).fetchone()[0]
        if not exists:
            return None
        row = con.execute(
            "select report from identity.identity_runs order by finished_at desc limit 1"
        ).fetchone()
    return json.loads(row[0]) if row else None


def identity_summary(report: dict) -> str:
    """The identity phase's own figures: candidate pairs, pairs/s, stage split, and what
    its guards did."""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in report["stage_seconds"].items())
    steps = ", ".join(f"{k} {v:.1f}" for k, v in report.get("fuzzy_step_seconds", {}).items())
    from python_models.identity.guards import guard_summary

    return (
        f"\nidentity resolution: {report['records']:,} records, "
        f"{report['candidate_pairs']:,} candidate pairs "
        f"({report['candidate_pairs_per_second']:,} pairs/s in the fuzzy stage), "
        f"{report['links_by_decision'].get('auto_link', 0):,} auto links, "
        f"review queue {report['review_queue']:,}, {report['seconds']:.1f} s "
        f"({report['cpu_seconds']:.1f} CPU s)\n  stages (s): {stages}\n  matcher steps (s): {steps}"
        f"\n  guards: {guard_summary(report.get('guards') or {})}"
    )


if __name__ == "__main__":
    sys.exit(main())

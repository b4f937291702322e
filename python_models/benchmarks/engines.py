"""Run each engine of a yardstick (ours, Splink) in a process of its own.

One process per engine keeps peak memory and CPU time each engine's own, and a crash or
out-of-memory kill of one engine does not lose the other's figures. The parent calls
`run_engine_in_child`, which re-runs the benchmark module with `--child ENGINE --input
FILE`; the child calls `report_engine_run`, which prints one `RESULT {json}` line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from python_models.benchmarks.memory import PeakMemory, cpu_seconds

RESULT_PREFIX = "RESULT "


def report_engine_run(run: Callable[[], dict]) -> int:
    """In the child: run the engine, add its peak RSS and CPU seconds, print the result."""
    with PeakMemory() as memory:
        result = run()
    result["peak_rss_mb"] = memory.peak_mb
    result["cpu_seconds"] = cpu_seconds()
    print(RESULT_PREFIX + json.dumps(result, default=float))
    return 0


def run_engine_in_child(module: str, engine: str, parquet: Path) -> dict | None:
    """In the parent: the child's result, or None (after printing its stderr) if it failed."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "--child", engine, "--input", str(parquet)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    if proc.returncode or not lines:
        print(f"{engine} failed:\n{proc.stderr[-3000:]}")
        return None
    return json.loads(lines[-1][len(RESULT_PREFIX) :])

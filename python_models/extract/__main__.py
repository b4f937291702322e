"""`python -m python_models.extract`: load a landing dir into a warehouse and print the report.

The same loader the Dagster extract assets run, for a one-off load or a benchmark:

    python -m python_models.extract --landing seeds/sample --warehouse /tmp/w.duckdb [--source web]

Exits 1 when a file was rejected, so a script notices.
"""

import argparse
import sys
import time
from pathlib import Path

import duckdb

from python_models.contract import SOURCE_SYSTEMS
from python_models.extract.loader import DEFAULT_WORKERS, load_landing_dir
from python_models.quality.quarantine import quarantine_load
from python_models.settings import landing_dir, warehouse_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m python_models.extract", description=__doc__)
    parser.add_argument("--landing", type=Path, default=None, help="landing dir (env default)")
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (env default)")
    parser.add_argument("--source", choices=SOURCE_SYSTEMS, default=None)
    parser.add_argument("--retry-rejected", action="store_true")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"files loaded at the same time (default {DEFAULT_WORKERS})",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with duckdb.connect(str(args.warehouse or warehouse_path())) as con:
        report = load_landing_dir(
            con,
            args.landing or landing_dir(),
            source=args.source,
            quarantine=quarantine_load,
            retry_rejected=args.retry_rejected,
            workers=args.workers,
        )
    seconds = time.perf_counter() - started
    print(report.summary())
    rows = report.total("rows_loaded")
    print(f"{rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)")
    return 1 if report.rejected else 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `python -m python_models.sample_data --customers N --seed S --out DIR ...`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from python_models.sample_data.config import GeneratorConfig, parse_as_of
from python_models.sample_data.generate import generate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m python_models.sample_data",
        description="Generate customer360 landing files and their ground truth.",
    )
    parser.add_argument("--customers", type=int, required=True, help="number of people")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write")
    parser.add_argument("--truth-out", type=Path, required=True, help="ground-truth folder")
    parser.add_argument("--as-of", default="2026-11-01T00:00:00Z", help="'now' (ISO 8601)")
    parser.add_argument("--invalid-rate", type=float, default=0.01)
    parser.add_argument(
        "--chunk-size", type=int, default=25_000, help="people per chunk (and per file part)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes building chunks in parallel (output does not depend on it)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = GeneratorConfig(
            customers=args.customers,
            seed=args.seed,
            as_of=parse_as_of(args.as_of),
            invalid_rate=args.invalid_rate,
            chunk_size=args.chunk_size,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    manifest = generate(config, args.out, args.truth_out, workers=max(1, args.workers))
    elapsed = time.perf_counter() - started
    rows = ", ".join(f"{name}={count}" for name, count in manifest["rows"].items())
    print(f"generated {manifest['people']} people in {elapsed:.1f}s: {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

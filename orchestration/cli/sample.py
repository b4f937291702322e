"""`customer360 sample`: generate landing files and their ground truth."""

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import fail
from orchestration.settings import DEFAULT_AS_OF, get_settings


def sample(
    customers: Annotated[int, typer.Option(help="number of people")],
    out: Annotated[Path, typer.Option(help="landing folder to write")],
    truth_out: Annotated[
        Path, typer.Option(help="ground-truth folder (never read by the pipeline)")
    ],
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files")] = 42,
    as_of: Annotated[str, typer.Option(help="'now' of the data (ISO 8601, UTC)")] = DEFAULT_AS_OF,
    invalid_rate: Annotated[float, typer.Option(help="share of rows made invalid")] = 0.01,
    chunk_size: Annotated[
        int, typer.Option(help="people per chunk (and per file part)", min=1)
    ] = 25_000,
    workers: Annotated[
        int, typer.Option(help="processes building chunks (output does not depend on it)", min=1)
    ] = min(2, os.cpu_count() or 1),
) -> None:
    """Generate customer360 landing files (every source) and their ground truth.

    Example: [bold]customer360 sample --customers 3000 --seed 42 --out seeds/sample
    --truth-out seeds/sample_truth[/] (what `make sample` runs)
    """
    from python_models.sample_data.config import GeneratorConfig, parse_as_of
    from python_models.sample_data.generate import generate

    try:
        config = GeneratorConfig(
            customers=customers,
            seed=seed,
            as_of=parse_as_of(as_of),
            invalid_rate=invalid_rate,
            chunk_size=chunk_size,
        )
    except ValueError as exc:
        fail(str(exc))
    started = time.perf_counter()
    manifest = generate(
        config,
        out,
        truth_out,
        workers=workers,
        memory_limit=get_settings().duckdb_memory_limit,
    )
    elapsed = time.perf_counter() - started
    rows = ", ".join(f"{name}={count}" for name, count in manifest["rows"].items())
    print(f"generated {manifest['people']} people in {elapsed:.1f}s: {rows}")

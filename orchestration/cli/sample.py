"""`customer360 sample`: generate landing files and their ground truth."""

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import fail
from orchestration.settings import (
    DEFAULT_AS_OF,
    SAMPLE_LANDING_DIR,
    SAMPLE_NEXT_DAY_DIR,
    SAMPLE_TRUTH_DIR,
    get_settings,
)


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


def next_day(
    sample_dir: Annotated[
        Path, typer.Option("--sample", help="the generated sample the delivery follows")
    ] = SAMPLE_LANDING_DIR,
    out: Annotated[
        Path, typer.Option(help="folder to write the delivery into (replaced)")
    ] = SAMPLE_NEXT_DAY_DIR,
    day: Annotated[
        str | None,
        typer.Option(help="the delivery's date \\[default: the day after the sample's as_of]"),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files")] = 7,
    campaign_sent: Annotated[
        Path | None,
        typer.Option(
            help="a campaign sent at the sample's as_of: an audience export run's folder or "
            "CSV (its addresses are treatment); their responses join the delivery's orders"
        ),
    ] = None,
    campaign_name: Annotated[
        str, typer.Option(help="the campaign's name in its truth file")
    ] = "campaign",
    response_rate: Annotated[
        float, typer.Option(help="P(order | mailed, would not have ordered that day)")
    ] = 0.30,
    truth_out: Annotated[
        Path, typer.Option(help="where the campaign's truth and sent list are written")
    ] = SAMPLE_TRUTH_DIR,
) -> None:
    """Write the next day's delivery of landing files for a generated sample.

    New orders and clicks, contacts who moved, new CRM sign-ups of known shoppers and
    withdrawn consent, so a second run has entries, exits and merges to show. With
    --campaign-sent, the recipients of a campaign sent at the sample's as_of respond at
    --response-rate on top of organic buying: a known effect for the holdout analysis
    (truth in <truth-out>/campaign.json, recipients in <truth-out>/campaign_sent.csv).

    Example: [bold]customer360 next-day --sample seeds/sample --out seeds/sample_day2
    --campaign-sent seeds/sample_truth/campaign_sent.csv[/] (what `make sample` runs, after
    exporting the sample's first day)
    """
    from datetime import date, timedelta

    from python_models.sample_data.next_day import (
        Campaign,
        campaign_sent_csv,
        write_campaign_truth,
        write_next_day_delivery,
    )
    from python_models.warehouse import connect

    try:
        delivery_day = (
            date.fromisoformat(day)
            if day
            else datetime.fromisoformat(DEFAULT_AS_OF).date() + timedelta(days=1)
        )
    except ValueError:
        fail(f"--day {day!r} is not a date; write 2026-11-02")
    if not sample_dir.is_dir():
        fail(f"no sample at {sample_dir}: run `customer360 sample` first")
    campaign = None
    if campaign_sent is not None:
        try:
            campaign = Campaign(campaign_sent_csv(campaign_sent), response_rate, campaign_name)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
    with connect(":memory:", memory_limit=get_settings().duckdb_memory_limit) as con:
        try:
            delivery = write_next_day_delivery(
                con, sample_dir, out, delivery_day, seed=seed, campaign=campaign
            )
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        if campaign is not None:
            write_campaign_truth(con, campaign, delivery.campaign or {}, truth_out)
    rows = ", ".join(f"{name}={count}" for name, count in delivery.rows.items())
    print(f"wrote the {delivery_day} delivery to {out}: {rows}")
    if delivery.campaign:
        truth = delivery.campaign
        print(
            f"campaign {truth['campaign']}: {truth['recipients']:,} recipients, "
            f"{truth['campaign_orders']:,} responded; planted uplift {truth['planted_uplift']:.4f} "
            f"(truth in {truth_out / 'campaign.json'})"
        )

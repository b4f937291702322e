"""`customer360`: the one command line, built with typer.

    customer360 demo                          # everything, on the sample, then a summary
    customer360 run ['group:extract'] [-v]    # all, or any Dagster selection
    customer360 backfill --from 2026-11-01 --to 2026-11-07
    customer360 publish                       # the analyst snapshot, now
    customer360 extract --source web          # one-off load of the landing dir
    customer360 quality replay | report | rules
    customer360 segments compile [--check]
    customer360 sources pg-up | pg-seed | pg-change-day | pg-down | crm-api serve
    customer360 contract sync | check
    customer360 export validate | run [--audience NAME] | runs
    customer360 experiments sample-size --baseline 0.10 --uplift 0.01 | results
    customer360 identity resolve --input people.csv --mapping mapping.yml --out resolved
    customer360 identity evaluate --truth seeds/sample_truth
    customer360 privacy erase | verify-erasure | access
    customer360 docs [--check]
    customer360 predict churn-eval orders.csv | recs-eval events.csv
    customer360 dashboard [--out data/dashboard.html]
    customer360 sample --customers 3000 --out seeds/sample --truth-out seeds/sample_truth
    customer360 next-day --sample seeds/sample --out seeds/sample_day2

Also `python -m orchestration.cli …`. Each command group is one module here; a new one is a
module plus one line below. Settings (warehouse, landing dir, memory limit, …) come from
`orchestration.settings`; a command's `--warehouse`/`--landing` flags override them for
that command and everything it starts (dbt included).
"""

import typer

from orchestration.cli import (
    contract,
    dashboard,
    docs,
    experiments,
    export,
    extract,
    identity,
    predict,
    privacy,
    quality,
    run,
    sample,
    segments,
    sources,
)
from orchestration.cli.run import load_definitions, materialize

__all__ = ["app", "load_definitions", "main", "materialize"]

app = typer.Typer(
    name="customer360",
    help="customer360: build the warehouse, or part of it, and look after what it holds.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command("demo")(run.demo_command)
app.command("run")(run.run_command)
app.command("backfill")(run.backfill_command)
app.command("summary")(run.summary_command)
app.command("publish")(run.publish_command)
app.command()(extract.extract)
app.add_typer(quality.app, name="quality")
app.add_typer(segments.app, name="segments")
app.add_typer(contract.app, name="contract")
app.add_typer(export.app, name="export")
app.add_typer(experiments.app, name="experiments")
app.add_typer(identity.app, name="identity")
app.add_typer(predict.app, name="predict")
app.add_typer(sources.app, name="sources")
app.add_typer(privacy.app, name="privacy")
app.command()(docs.docs)
app.command()(dashboard.dashboard)
app.command()(sample.sample)
app.command("next-day")(sample.next_day)


def main() -> None:
    """Entry point of the `customer360` script and `python -m orchestration.cli`."""
    app()

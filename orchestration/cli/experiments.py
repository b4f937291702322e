"""`customer360 experiments`: plan and read holdout tests.

    customer360 experiments sample-size --baseline 0.10 --expected 0.11
    customer360 experiments results            # every audience holdout, and its report

Sample size is per arm, two-sided, for two proportions (or, with `--sd`, for means).
Results follow the experiment's fixed analysis date: before it they say `waiting`.
"""

from typing import Annotated

import typer

from orchestration.cli.common import (
    WarehouseOption,
    console,
    existing_warehouse,
    fail,
    open_warehouse,
    settings_for,
)
from orchestration.cli.export import FileOption, _audiences, parse_as_of
from orchestration.settings import AUDIENCES_FILE
from python_models.activation.experiments import (
    daily_conversion,
    experiment_results,
    load_outcomes,
    store_results,
)
from python_models.activation.report import render_report, write_report
from python_models.activation.statistics import sample_size_means, sample_size_two_proportions

app = typer.Typer(
    help="Holdout experiments: sample size, results and reports.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.command("sample-size")
def sample_size(
    baseline: Annotated[float, typer.Option(help="control conversion rate, e.g. 0.10")] = 0.10,
    expected: Annotated[
        float | None, typer.Option(help="treatment rate to detect, e.g. 0.11")
    ] = None,
    uplift: Annotated[
        float | None, typer.Option(help="or: absolute uplift to detect, e.g. 0.01")
    ] = None,
    sd: Annotated[
        float | None, typer.Option(help="for a mean (revenue): its standard deviation")
    ] = None,
    confidence: Annotated[float, typer.Option(help="1 − α, two-sided")] = 0.95,
    power: Annotated[float, typer.Option(help="1 − β")] = 0.8,
) -> None:
    """Customers per arm to detect an uplift at the given confidence and power.

    Example: [bold]customer360 experiments sample-size --baseline 0.10 --uplift 0.01[/]
    """
    try:
        if sd is not None:
            if uplift is None:
                fail("with --sd, give the difference in means to detect as --uplift")
            n = sample_size_means(sd, uplift, confidence, power)
            what = f"a difference of {uplift:g} in means (sd {sd:g})"
        else:
            target = (
                expected
                if expected is not None
                else (baseline + uplift if uplift is not None else None)
            )
            if target is None:
                fail("give --expected or --uplift")
            n = sample_size_two_proportions(baseline, target, confidence, power)
            what = f"{baseline:.2%} → {target:.2%}"
    except ValueError as error:
        fail(str(error))
    console.print(
        f"{n:,} customers per arm ({2 * n:,} in all) to detect {what} "
        f"at {confidence:.0%} confidence and {power:.0%} power"
    )


@app.command()
def results(file: FileOption = AUDIENCES_FILE, warehouse: WarehouseOption = None) -> None:
    """Measure every audience holdout now; write exports.experiment_results and reports.

    Example: [bold]customer360 experiments results[/]
    """
    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    as_of = parse_as_of(settings.as_of)
    with open_warehouse(settings) as con:
        for audience in _audiences(file):
            holdout = audience.holdout
            if holdout is None:
                continue
            outcomes = load_outcomes(con, holdout, as_of)
            table = experiment_results(audience, outcomes, as_of)
            store_results(con, table)
            report = settings.export_dir / "experiments" / holdout.experiment / "report.html"
            write_report(
                report, render_report(audience, table, daily_conversion(con, holdout, as_of))
            )
            primary = table[
                table["is_primary_outcome"]
                & (table["arm"] == "treatment")
                & (table["method"] != "cuped_welch_t")
            ]
            console.print(
                f"{holdout.experiment} ({audience.name}): {outcomes.status}, "
                f"{len(outcomes.frame):,} measured of {outcomes.assigned:,} assigned"
            )
            if outcomes.status == "final" and len(primary):
                row = primary.iloc[0]
                console.print(
                    f"  {holdout.outcome}: uplift {row['absolute_uplift']:+.4f} "
                    f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}], p = {row['p_value']:.4g}"
                )
            console.print(f"  report: {report}")

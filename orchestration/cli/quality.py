"""`customer360 quality replay | report | rules`: look after quarantined rows and the scorecard."""

from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import (
    WarehouseOption,
    console,
    existing_warehouse,
    open_warehouse,
    settings_for,
)

app = typer.Typer(
    help="Data quality: replay quarantined rows, publish the scorecard, list the rules.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.command()
def replay(
    warehouse: WarehouseOption = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="raw table to replay (repeatable) \\[default: all]"),
    ] = None,
) -> None:
    """Re-validate unreleased quarantined rows with today's rules and release those that pass.

    Fix the rule, or the payload in quarantine.<table>, first; a second replay changes nothing.

    Example: [bold]customer360 quality replay --table shop_orders[/]
    """
    from python_models.quality.replay import replay as replay_tables

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    with open_warehouse(settings) as con:
        reports = replay_tables(con, table)
    for report in reports:
        print(report.line())
    print(
        f"total: {sum(r.released for r in reports)} released, "
        f"{sum(r.still_quarantined for r in reports)} still quarantined"
    )


@app.command()
def report(
    warehouse: WarehouseOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="HTML report path \\[default: <CUSTOMER360_DQ_DIR>/scorecard.html]"),
    ] = None,
) -> None:
    """Refresh volume anomalies and the scorecard, and write the self-contained HTML report.

    Example: [bold]customer360 quality report --out /tmp/scorecard.html[/]
    """
    from python_models.quality.publish import publish_scorecard, refresh_anomalies

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    with open_warehouse(settings) as con:
        anomalies = refresh_anomalies(con)
        published = publish_scorecard(
            con, out or settings.quality().scorecard_path, as_of=settings.as_of
        )
    for message in anomalies["message"]:
        print(f"WARNING {message}")
    print(
        f"scored {len(published.new_rows)} new load(s); {len(published.scorecard)} in total; "
        f"report: {published.report_path}"
    )


@app.command()
def rules() -> None:
    """Print the rule catalogue (every raw table's rules) as a Markdown table.

    Example: [bold]customer360 quality rules > rules.md[/]
    """
    from python_models.quality.rules import rules_markdown

    console.print(rules_markdown(), markup=False, soft_wrap=True)

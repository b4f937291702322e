"""`customer360 export`: validate audiences, export them, list past runs.

    customer360 export validate                 # audiences.yml, every problem at once
    customer360 export run                      # every audience, a new run id
    customer360 export run --audience vip --run-id 2026-11-01-manual
    customer360 export runs                     # the last runs, from exports.export_runs

Runs write `$CUSTOMER360_EXPORT_DIR/<audience>/<run_id>/` and the `exports.*` tables, the
same as the Dagster assets (group `activation`).
"""

from datetime import UTC, datetime
from pathlib import Path
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
from orchestration.settings import AUDIENCES_FILE, DBT_PROJECT_DIR, PrivacyKeyError
from python_models.activation.audiences import AudienceDefinitionError, load_audience_file
from python_models.activation.export import ExportRequest, export_audience

app = typer.Typer(
    help="Audience exports: validate audiences.yml, export, list runs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

FileOption = Annotated[Path, typer.Option("--file", help="the audiences file", show_default=True)]


def _audiences(path: Path):
    try:
        return load_audience_file(path, DBT_PROJECT_DIR)
    except AudienceDefinitionError as error:
        fail(str(error), code=1)
        raise  # unreachable: fail exits


def parse_as_of(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def validate(file: FileOption = AUDIENCES_FILE) -> None:
    """Check audiences.yml; list each audience, or every problem (exit 1).

    Example: [bold]customer360 export validate[/]
    """
    for audience in _audiences(file):
        holdout = (
            f", holdout {audience.holdout.control_share:.0%} ({audience.holdout.experiment})"
            if audience.holdout
            else ""
        )
        console.print(
            f"{audience.name}: {', '.join(audience.segments)} → {audience.destination}, "
            f"{len(audience.fields)} field(s){holdout}"
        )


@app.command()
def run(
    audience: Annotated[
        list[str] | None, typer.Option("--audience", help="only these audiences (repeatable)")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option(help="re-use a run id to finish or repeat that run")
    ] = None,
    export_dir: Annotated[
        Path | None, typer.Option(help="[default: CUSTOMER360_EXPORT_DIR or data/exports]")
    ] = None,
    file: FileOption = AUDIENCES_FILE,
    warehouse: WarehouseOption = None,
) -> None:
    """Export audiences: files, deltas and manifest per audience, under one run id.

    Example: [bold]customer360 export run --audience vip[/]
    """
    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    chosen = _audiences(file)
    if audience:
        unknown = sorted(set(audience) - {a.name for a in chosen})
        if unknown:
            fail(f"unknown audience(s) {unknown}; known: {sorted(a.name for a in chosen)}")
        chosen = [a for a in chosen if a.name in audience]
    run_id = run_id or f"cli-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out = (export_dir or settings.export_dir).resolve()
    try:  # members are checked against the erasure tombstones, keyed hashes
        privacy_key = settings.privacy_key()
    except PrivacyKeyError as error:
        fail(str(error))
    with open_warehouse(settings) as con:
        for item in chosen:
            result = export_audience(
                con,
                ExportRequest(
                    item,
                    run_id,
                    parse_as_of(settings.as_of),
                    out,
                    privacy_key=privacy_key,
                ),
            )
            counts = result.manifest["counts"]
            state = "already complete" if result.reused else f"{result.seconds:.1f} s"
            console.print(
                f"{item.name}: {counts['exported']:,} exported of {counts['members']:,} members "
                f"({counts['excluded']:,} excluded, {counts['holdout_control']:,} control); "
                f"+{counts['added']:,} ~{counts['changed']:,} -{counts['removed']:,}; "
                f"{result.folder} [{state}]"
            )
            for name, why in result.manifest["fields_without_model"].items():
                console.print(f"  [yellow]{name}[/]: {why}")


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    warehouse: WarehouseOption = None,
) -> None:
    """The latest export runs, newest first.

    Example: [bold]customer360 export runs --limit 5[/]
    """
    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    with open_warehouse(settings, read_only=True) as con:
        known = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'exports' and table_name = 'export_runs'"
        ).fetchone()[0]
        if not known:
            fail("no export has run in this warehouse yet: `customer360 export run`")
        rows = con.execute(
            "select audience, run_id, generated_at, exported, added, changed, removed, folder "
            "from exports.export_runs order by generated_at desc limit ?",
            [limit],
        ).fetchall()
    for audience, run_id, generated_at, exported, added, changed, removed, folder in rows:
        console.print(
            f"{generated_at:%Y-%m-%d %H:%M} {audience} {run_id}: {exported:,} "
            f"(+{added:,} ~{changed:,} -{removed:,}) {folder}"
        )

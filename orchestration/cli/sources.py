"""`customer360 sources …`: the live sources' local servers for the demo.

    customer360 sources pg-up [--seed]         a local PostgreSQL (data/postgres); prints its URL
    customer360 sources pg-seed                fill its shop database from the landing files
    customer360 sources pg-change-day --day N  one day of shop activity (orders, status, deletes)
    customer360 sources pg-down                stop it (the data stays for the next pg-up)
    customer360 sources crm-api serve          the CRM contacts as a paginated REST API

The URL and the token printed here are what `CUSTOMER360_SHOP_DATABASE_URL`,
`CUSTOMER360_CRM_API_URL` and `CUSTOMER360_CRM_API_TOKEN` take (docs/live-sources.md).
"""

from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import LandingOption
from orchestration.settings import PROJECT_ROOT, SHOP_DATABASE_URL, get_settings

DEFAULT_PG_ROOT = PROJECT_ROOT / "data" / "postgres"
DEMO_TOKEN = "customer360-demo-token"

app = typer.Typer(
    help="Live sources: a local PostgreSQL shop database and CRM API for the demo and tests.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
crm_app = typer.Typer(
    help="The local CRM REST API.\n\nExample: [bold]customer360 sources crm-api serve[/]",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(crm_app, name="crm-api")

RootOption = Annotated[Path, typer.Option("--root", help="the local server's folder")]


def _server_file(root: Path) -> Path:
    return root / "server.port"


def _known_url(root: Path) -> str:
    import os

    if os.environ.get(SHOP_DATABASE_URL):
        return os.environ[SHOP_DATABASE_URL]
    port_file = _server_file(root)
    if not port_file.exists():
        raise typer.BadParameter(
            f"no local server under {root} and {SHOP_DATABASE_URL} is not set: run pg-up first"
        )
    from python_models.sample_data.postgres_server import LocalPostgres

    return LocalPostgres(root / "data", int(port_file.read_text())).url()


@app.command("pg-up")
def pg_up(
    root: RootOption = DEFAULT_PG_ROOT,
    port: Annotated[int, typer.Option(help="0: a free port")] = 0,
    seed: Annotated[bool, typer.Option(help="seed the shop database")] = False,
    landing: LandingOption = None,
) -> None:
    """Start the local PostgreSQL server (as the postgres user when run as root).

    Example: [bold]customer360 sources pg-up --seed[/]
    """
    from python_models.sample_data.postgres_server import start_server

    previous = _server_file(root)
    if not port and previous.exists():
        port = int(previous.read_text())  # same port as last time, so the URL stays valid
    server = start_server(root, port or None)
    previous.write_text(str(server.port))
    if seed:
        _seed(server.url(), landing)
    typer.echo(f"PostgreSQL is up; export {SHOP_DATABASE_URL}={server.url('shop_reader')}")


def _seed(url: str, landing: Path | None) -> None:
    from python_models.sample_data.shop_db import seed_shop

    report = seed_shop(url, landing or get_settings().landing_dir)
    typer.echo(report.describe())
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("grant usage on schema shop to shop_reader")
        pg.execute("grant select on all tables in schema shop to shop_reader")


@app.command("pg-seed")
def pg_seed(root: RootOption = DEFAULT_PG_ROOT, landing: LandingOption = None) -> None:
    """Replace the shop database's content with the landing folder's orders and lines.

    Example: [bold]customer360 sources pg-seed --landing seeds/sample[/]
    """
    _seed(_known_url(root).replace("shop_reader@", "postgres@"), landing)


@app.command("pg-change-day")
def pg_change_day(
    root: RootOption = DEFAULT_PG_ROOT,
    day: Annotated[int, typer.Option(help="day number (picks which orders change)")] = 1,
) -> None:
    """Apply one day of shop activity: new orders, status changes, soft and hard deletes.

    Example: [bold]customer360 sources pg-change-day --day 2[/]
    """
    from python_models.sample_data.shop_db import ChangeDay, apply_change_day

    url = _known_url(root).replace("shop_reader@", "postgres@")
    typer.echo(apply_change_day(url, ChangeDay(day=day)).describe())


@app.command("pg-down")
def pg_down(root: RootOption = DEFAULT_PG_ROOT) -> None:
    """Stop the local PostgreSQL server; its data stays for the next pg-up.

    Example: [bold]customer360 sources pg-down[/]
    """
    from python_models.sample_data.postgres_server import LocalPostgres, stop_server

    port_file = _server_file(root)
    if not port_file.exists():
        typer.echo(f"no local server under {root}")
        return
    stop_server(LocalPostgres(root / "data", int(port_file.read_text())))
    typer.echo("PostgreSQL stopped")


@crm_app.command("serve")
def crm_api_serve(
    landing: LandingOption = None,
    port: int = 8765,
    token: Annotated[str, typer.Option(envvar="CUSTOMER360_CRM_API_TOKEN")] = DEMO_TOKEN,
    rate_limited_share: float = 0.0,
    error_share: float = 0.0,
) -> None:
    """Serve the landing folder's CRM contacts on 127.0.0.1 (cursor pagination, bearer token).

    Example: [bold]customer360 sources crm-api serve --port 8765 --rate-limited-share 0.01[/]
    """
    from python_models.sample_data.crm_api import Faults, serve

    typer.echo(
        f"export CUSTOMER360_CRM_API_URL=http://127.0.0.1:{port} "
        "CUSTOMER360_CRM_API_TOKEN=<the token you passed, or the demo token>"
    )
    faults = Faults(rate_limited_share=rate_limited_share, error_share=error_share)
    serve(landing or get_settings().landing_dir, token, port=port, faults=faults)

"""A throwaway local PostgreSQL server for the demo, the tests and the benchmark.

It runs Debian's PostgreSQL server programs (`initdb`, `pg_ctl`) on a loopback port in a
folder of its own. PostgreSQL refuses to run as root, and CI runs as root, so as root the
server runs as the `postgres` system user (via `runuser`). Authentication is `trust` on
127.0.0.1 only: this is a development server, never a production one. `shop_reader` is
created as a read-only role so the extract is shown to need nothing more than SELECT.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

DATABASE = "shop"
SUPERUSER = "postgres"
READ_ONLY_USER = "shop_reader"
_RUN_AS = "postgres"


class PostgresServerError(RuntimeError):
    """The local server could not be started or stopped; the message says why and what to do."""


def server_bin_dir() -> Path:
    """The folder holding `initdb` and `pg_ctl` (the newest Debian PostgreSQL found)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresServerError(
        "PostgreSQL server programs (initdb, pg_ctl) not found: install them with "
        "`apt-get install -y postgresql` (Debian) and try again"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalPostgres:
    """A running (or stopped) local server: where its files are and how to reach it."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"

    def url(self, user: str = SUPERUSER, database: str = DATABASE) -> str:
        """A `postgresql://` URL (psycopg 3 / SQLAlchemy / dlt all accept it)."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", _RUN_AS, "--", *command]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise PostgresServerError(f"{what} failed: {' | '.join(detail)}")


def _hand_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(_RUN_AS)
        os.chown(path, user.pw_uid, user.pw_gid)


def start_server(root: Path, port: int | None = None) -> LocalPostgres:
    """Initialise (first time) and start a server under `root`; returns once it accepts.

    `root` holds `data/` (the cluster), `socket/` and `postgres.log`. Starting a server whose
    folder already holds a cluster reuses it, so `pg-up` after `pg-down` keeps the data.
    """
    root = Path(root).resolve()
    bin_dir = server_bin_dir()
    data_dir, socket_dir = root / "data", root / "socket"
    for folder in (root, socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
        _hand_to_server_user(folder)
    server = LocalPostgres(data_dir=data_dir, port=port or free_port())
    if not (data_dir / "PG_VERSION").exists():
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            "initdb",
        )
    server.log_file.touch()
    _hand_to_server_user(server.log_file)
    options = (
        f"-p {server.port} -k {socket_dir} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c shared_buffers=128MB -c max_wal_size=2GB"
    )
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(server.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        f"starting PostgreSQL on {server.host}:{server.port} (log: {server.log_file})",
    )
    _ensure_database(server)
    return server


def _ensure_database(server: LocalPostgres) -> None:
    import psycopg

    with psycopg.connect(server.url(database="postgres"), autocommit=True) as con:
        if not con.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone():
            con.execute(f'create database "{DATABASE}"')
        if not con.execute(
            "select 1 from pg_roles where rolname = %s", [READ_ONLY_USER]
        ).fetchone():
            con.execute(f'create role "{READ_ONLY_USER}" login')


def stop_server(server: LocalPostgres, mode: str = "fast") -> None:
    """Stop the server (`fast`: roll back open transactions; `immediate`: like a crash)."""
    _run(
        [str(server_bin_dir() / "pg_ctl"), "-D", str(server.data_dir), "-m", mode, "-w", "stop"],
        f"stopping PostgreSQL in {server.data_dir}",
    )


def restart_server(server: LocalPostgres, mode: str = "immediate") -> LocalPostgres:
    """Stop (by default as abruptly as a crash) and start the same server on the same port."""
    stop_server(server, mode=mode)
    return start_server(server.data_dir.parent, port=server.port)


def is_running(server: LocalPostgres) -> bool:
    done = subprocess.run(
        _as_server_user([str(server_bin_dir() / "pg_ctl"), "-D", str(server.data_dir), "status"]),
        capture_output=True,
    )
    return done.returncode == 0

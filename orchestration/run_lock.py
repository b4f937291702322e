"""One pipeline run per warehouse at a time: a file lock beside the warehouse file.

DuckDB allows one writer per file, and a second run on the same warehouse would also fight
over dbt's artefacts. So every run takes an exclusive `flock` on `<warehouse>.run.lock` before
it starts, and writes who holds it (pid, host, start time, command) into the file. A second
run fails at once with "another run holds the warehouse since …, pid …" (or, with
`wait_seconds`, waits that long first). The kernel drops the lock when the holder exits, even
when it is killed, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse; the message says who and since when."""


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    host: str | None
    since: str | None
    command: str | None

    def describe(self) -> str:
        return (
            f"since {self.since or 'an unknown time'}, pid {self.pid or 'unknown'}"
            f"{f' on {self.host}' if self.host else ''}"
            f"{f' ({self.command})' if self.command else ''}"
        )


def lock_path(warehouse: Path | str) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".run.lock")


def read_holder(path: Path) -> LockHolder:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    return LockHolder(data.get("pid"), data.get("host"), data.get("since"), data.get("command"))


#: set in the environment of a process that holds the lock, so the steps it runs in-process
#: or in child processes (Dagster's executor, dbt) do not try to take it again.
HELD_ENV = "CUSTOMER360_RUN_LOCK_HELD"


@contextlib.contextmanager
def hold_run_lock(
    warehouse: Path | str, *, wait_seconds: float = 0.0, command: str | None = None
) -> Iterator[Path]:
    """Hold the warehouse's run lock for the `with` block.

    Raises WarehouseBusy when another process holds it and `wait_seconds` pass without it
    being released. Re-entrant within a process tree that already holds it (see HELD_ENV).
    """
    path = lock_path(warehouse)
    if os.environ.get(HELD_ENV) == str(path):
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(path)
                    raise WarehouseBusy(
                        f"another run holds the warehouse {Path(warehouse).resolve()} "
                        f"{holder.describe()}; wait for it to finish, or stop it "
                        f"(lock file {path})"
                    ) from None
                time.sleep(0.2)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": command or " ".join(os.path.basename(a) for a in sys.argv[:3]),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        os.environ[HELD_ENV] = str(path)
        try:
            yield path
        finally:
            os.environ.pop(HELD_ENV, None)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock

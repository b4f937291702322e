"""Keeping dbt's manifest in step with the project, so Dagster always loads current models.

Dagster reads dbt's `manifest.json` to know the models. It is never committed; it is made
by `dbt parse` whenever a model, macro, seed or yml is newer than it. The caller passes the
environment dbt runs with (the run's settings), so this module reads none itself.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

WATCHED = ("models", "macros", "seeds", "snapshots", "tests", "dbt_project.yml", "profiles.yml")


def dbt_executable() -> str:
    """The dbt beside this interpreter, else the project venv's, else whatever is on PATH."""
    project_venv_dbt = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "dbt"
    for candidate in (Path(sys.executable).with_name("dbt"), project_venv_dbt):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def newest_source_mtime(project_dir: Path) -> float:
    """The latest modification time among the files that shape dbt's manifest."""
    newest = 0.0
    for name in WATCHED:
        path = project_dir / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for file in path.rglob("*"):
                if file.is_file():
                    newest = max(newest, file.stat().st_mtime)
    return newest


# dbt re-parses from scratch ("profile has changed") when the warehouse path differs from the
# one the saved parse state was made with; parsing once per path lets later runs reuse it.
PROFILE_ENV = ("CUSTOMER360_WAREHOUSE", "CUSTOMER360_AS_OF", "CUSTOMER360_DUCKDB_MEMORY_LIMIT")


def profile_stamp(env: Mapping[str, str]) -> str:
    return "\n".join(f"{name}={env.get(name, '')}" for name in PROFILE_ENV)


def manifest_is_stale(project_dir: Path, env: Mapping[str, str] | None = None) -> bool:
    manifest = project_dir / "target" / "manifest.json"
    stamp = project_dir / "target" / "customer360_profile_stamp"
    return (
        not manifest.exists()
        or manifest.stat().st_mtime < newest_source_mtime(project_dir)
        or not stamp.exists()
        or stamp.read_text() != profile_stamp(env or {})
    )


def ensure_manifest(project_dir: Path, env: Mapping[str, str]) -> Path:
    """Run `dbt parse` (with environment `env`) if the manifest is missing, older than the
    project's files, or was made for another warehouse.

    Two processes may prepare at once (two runs, a run and `dg dev`): they take turns on a
    file lock, and dbt parses into a folder of its own whose manifest is renamed into
    `target/` whole, so a reader never sees a half-written `manifest.json`.
    """
    target = project_dir / "target"
    manifest = target / "manifest.json"
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not manifest_is_stale(project_dir, env):
            return manifest  # another process prepared it while this one waited
        private = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
        try:
            for state in ("partial_parse.msgpack",):  # reuse the last parse: fast re-parse
                if (target / state).exists():
                    shutil.copy2(target / state, private / state)
            dbt = Path(sys.executable).with_name("dbt")
            subprocess.run(
                [
                    str(dbt),
                    "parse",
                    "--quiet",
                    "--project-dir",
                    str(project_dir),
                    "--profiles-dir",
                    str(project_dir),
                    "--target-path",
                    str(private),
                ],
                check=True,
                env={**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            )
            for produced in ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json"):
                if (private / produced).exists():
                    os.replace(private / produced, target / produced)  # manifest last
            stamp = private / "customer360_profile_stamp"
            stamp.write_text(profile_stamp(env))
            os.replace(stamp, target / "customer360_profile_stamp")
        finally:
            shutil.rmtree(private, ignore_errors=True)
    return manifest


@dataclass
class FreshnessSummary:
    checked: int
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def summarise_freshness(results: list[dict]) -> FreshnessSummary:
    """Messages for sources past `warn_after` / `error_after`, from dbt's sources.json."""
    summary = FreshnessSummary(checked=len(results))
    for result in results:
        source = result["unique_id"].removeprefix("source.customer360.")
        age_hours = (result.get("max_loaded_at_time_ago_in_s") or 0) / 3600
        status = result.get("status")
        if status == "warn":
            summary.warnings.append(
                f"source {source} is stale: newest event {age_hours:.0f} h before as_of"
            )
        elif status in ("error", "runtime error"):
            summary.errors.append(
                f"source {source} failed dbt source freshness ({status}, newest event "
                f"{age_hours:.0f} h before as_of): load new files, or raise its "
                "freshness_error_hours in python_models/contract/tables.py"
            )
    return summary


# What a failure says when waiting and trying again can mend it: another process holds the
# DuckDB file, or a connection dropped. Bad data and failed tests are never in this list.
TRANSIENT_FAILURE_MARKERS = (
    "could not set lock on file",
    "conflicting lock is held",
    "database is locked",
    "connection reset",
    "connection refused",
    "timed out",
)


def is_transient_failure(message: str) -> bool:
    """True when a failure's message says a retry may succeed (a held lock, a dropped link)."""
    lowered = message.lower()
    return any(marker in lowered for marker in TRANSIENT_FAILURE_MARKERS)


def summarise_dbt_failure(error_text: str) -> str:
    """A failed `dbt build` in words a user acts on: the first error dbt logged (and how many
    more), then the full text dagster-dbt gave, for the log and the UI."""
    _, _, parsed = error_text.partition("Errors parsed from dbt logs:")
    errors = [part.strip() for part in parsed.split("\n\n") if part.strip()]
    if not errors:
        return error_text.strip()
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    first = " ".join(errors[0].split())
    return f"dbt build failed: {first}{more}\n\n{error_text.strip()}"

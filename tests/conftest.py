"""Shared fixtures: a throwaway warehouse per test session, never the user's data/ folder."""

import os
from pathlib import Path

import pytest

# fixtures of the live sources' throwaway servers (PostgreSQL), usable by any test
pytest_plugins = ["tests.support.postgres"]

# Point every stage at a temporary warehouse before any project module is imported.
_SESSION_TMP = Path(os.environ.get("PYTEST_CUSTOMER360_TMP", "/tmp")) / f"c360-tests-{os.getpid()}"
# Forced, not defaulted: `make` exports the user's warehouse path, and tests must not touch it.
os.environ["CUSTOMER360_WAREHOUSE"] = str(_SESSION_TMP / "warehouse.duckdb")
os.environ["CUSTOMER360_MODEL_DIR"] = str(_SESSION_TMP / "models")
os.environ["CUSTOMER360_DQ_DIR"] = str(_SESSION_TMP / "dq")
os.environ["CUSTOMER360_EXPORT_DIR"] = str(_SESSION_TMP / "exports")
# Runs are recorded in a throwaway Dagster instance, never the user's .dagster_home.
os.environ["DAGSTER_HOME"] = str(_SESSION_TMP / "dagster_home")
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
_SESSION_TMP.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli():
    """Run `customer360 …` in this process: `run_cli("extract", "--source", "web")` returns
    typer's result (`exit_code`, `stdout`, `stderr`). A command exports its settings for the
    processes it starts; the environment is put back afterwards."""
    from typer.testing import CliRunner

    from orchestration.cli import app

    saved = dict(os.environ)
    yield lambda *args: CliRunner().invoke(app, [str(a) for a in args])
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def sample_pipeline(tmp_path_factory: pytest.TempPathFactory):
    """The whole pipeline, run once per test session on the committed sample.

    Returns the Dagster result and the warehouse path; tests that only read the warehouse
    share it instead of rebuilding it.
    """
    from orchestration.cli import materialize
    from orchestration.settings import SAMPLE_LANDING_DIR

    work = tmp_path_factory.mktemp("pipeline")
    os.environ["CUSTOMER360_WAREHOUSE"] = str(work / "warehouse.duckdb")
    os.environ["CUSTOMER360_LANDING_DIR"] = str(SAMPLE_LANDING_DIR)
    result = materialize("*")
    return result, work / "warehouse.duckdb"


# the one headless browser (Debian's chromium via Playwright) for every test that opens a page
from tests.support.browser import browser  # noqa: E402, F401

"""One settings module, one default per setting, one way to open DuckDB, one writer pool."""

import ast
import re
from pathlib import Path

import dagster as dg
import pytest

from orchestration.settings import DBT_PROJECT_DIR, DEFAULTS, PROJECT_ROOT, Settings

CODE_DIRS = ("python_models", "orchestration")


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PROJECT_ROOT / folder).rglob("*.py"))


def test_every_setting_has_one_default_and_the_environment_overrides_it(tmp_path: Path) -> None:
    defaulted = Settings.from_env({})
    assert defaulted.warehouse == PROJECT_ROOT / "data" / "warehouse.duckdb"
    assert defaulted.duckdb_memory_limit == DEFAULTS["CUSTOMER360_DUCKDB_MEMORY_LIMIT"]
    assert defaulted.explicit_as_of is None  # the default "now" is not an explicit one
    given = Settings.from_env(
        {
            "CUSTOMER360_WAREHOUSE": str(tmp_path / "w.duckdb"),
            "CUSTOMER360_DUCKDB_MEMORY_LIMIT": "1GB",
            "CUSTOMER360_AS_OF": "2026-12-01T00:00:00",
            "CUSTOMER360_DQ_MAX_QUARANTINE_SHARE": "0.2",
            "CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT": "512MB",
        }
    )
    assert given.warehouse == tmp_path / "w.duckdb"
    assert given.duckdb_memory_limit == "1GB"
    assert given.models_duckdb_memory_limit == "512MB"
    assert given.explicit_as_of == "2026-12-01T00:00:00"
    assert given.quality().max_quarantine_share == 0.2
    # what a child process (dbt) sees is what this process decided
    assert Settings.from_env(given.as_env()) == given
    moved = defaulted.with_overrides(warehouse=tmp_path / "x.duckdb", landing_dir=None)
    assert moved.warehouse == tmp_path / "x.duckdb"
    assert moved.landing_dir == defaulted.landing_dir


def test_dbt_profile_defaults_are_the_settings_defaults() -> None:
    """profiles.yml needs its own default (dbt runs without Python); it must be the same one."""
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    defaults = dict(re.findall(r"env_var\('(CUSTOMER360_\w+)',\s*'([^']*)'\)", profile))
    assert set(defaults) == {"CUSTOMER360_WAREHOUSE", "CUSTOMER360_DUCKDB_MEMORY_LIMIT"}
    # dbt runs in the project directory, so a relative path is relative to it
    assert (DBT_PROJECT_DIR / defaults["CUSTOMER360_WAREHOUSE"]).resolve() == Path(
        DEFAULTS["CUSTOMER360_WAREHOUSE"]
    )
    assert (
        defaults["CUSTOMER360_DUCKDB_MEMORY_LIMIT"] == DEFAULTS["CUSTOMER360_DUCKDB_MEMORY_LIMIT"]
    )


def test_makefile_carries_no_second_default() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "data/warehouse.duckdb\n" not in makefile.replace("(data/warehouse.duckdb)", "")
    assert "6GB" not in makefile and "MEMORY_LIMIT" not in makefile


def duckdb_connect_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "connect"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "duckdb"
    ]


def test_every_duckdb_connection_goes_through_the_one_helper() -> None:
    helper = PROJECT_ROOT / "python_models" / "warehouse.py"
    elsewhere = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}"
        for path in python_files(*CODE_DIRS)
        if path != helper
        for line in duckdb_connect_calls(path)
    ]
    assert elsewhere == [], "open DuckDB with python_models.warehouse.connect:\n" + "\n".join(
        elsewhere
    )


def module_level_environment_reads(path: Path) -> list[int]:
    """Lines outside any function that touch os.environ / os.getenv (run at import time)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    inside_functions = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for node in ast.walk(fn)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"environ", "getenv", "putenv"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and id(node) not in inside_functions
    ]


def test_no_environment_is_read_or_set_at_import_time() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}"
        for path in python_files(*CODE_DIRS)
        for line in module_level_environment_reads(path)
    ]
    assert offenders == []


def test_library_code_receives_settings_as_arguments() -> None:
    """Only orchestration/ (and the benchmark commands) read CUSTOMER360_* settings."""
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in python_files("python_models")
        if "benchmarks" not in path.parts
        and re.search(r"os\.environ|getenv", path.read_text())
        and path.name != "ge_validation.py"  # GX's own telemetry switch, set before import
    ]
    assert offenders == []


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from orchestration.cli import load_definitions

    return load_definitions()


def test_every_asset_and_check_that_opens_the_warehouse_is_in_the_duckdb_pool(
    definitions: dg.Definitions,
) -> None:
    """DuckDB allows one writer per file, and a DuckDBResource connection (or dbt's) holds the
    write lock even to read; pool `duckdb` (limit 1) makes them take turns."""
    nodes = [*(definitions.assets or []), *(definitions.asset_checks or [])]
    opening = [
        node
        for node in nodes
        if isinstance(node, dg.AssetsDefinition) and node.required_resource_keys & {"duckdb", "dbt"}
    ]
    assert len(opening) >= 20  # extracts, dbt, identity, models, quality and their checks
    outside = [node.node_def.name for node in opening if node.node_def.pool != "duckdb"]
    assert outside == []


def test_the_definitions_hold_the_jobs_schedules_and_sensors(definitions: dg.Definitions) -> None:
    assert {job.name for job in definitions.jobs or []} >= {
        "full_pipeline",
        "clickstream_extract",
        "retrain_models",
    }
    from orchestration.settings import AUDIENCES_FILE, DBT_PROJECT_DIR
    from python_models.activation.audiences import load_audience_file

    audiences = load_audience_file(AUDIENCES_FILE, DBT_PROJECT_DIR)
    assert {s.name for s in definitions.schedules or []} == {
        "clickstream_extract_schedule",
        "daily_full_refresh",
        "weekly_model_retrain",
        "retention_purge_schedule",
        # each audience's own `schedule:` from audiences.yml
        *(f"export_{audience.name}_schedule" for audience in audiences),
    }
    assert {s.name for s in definitions.sensors or []} == {
        "new_landing_files",
        "alert_on_run_failure",
    }


def executable_specs(definitions: dg.Definitions) -> list[dg.AssetSpec]:
    """The assets this project builds (not the tables it only reads)."""
    return [
        spec
        for node in definitions.assets or []
        if isinstance(node, dg.AssetsDefinition) and node.is_executable
        for spec in node.specs
    ]


def test_every_asset_has_an_owner_and_every_mart_a_freshness_policy(
    definitions: dg.Definitions,
) -> None:
    specs = executable_specs(definitions)
    assert [s.key.to_user_string() for s in specs if not s.owners] == []
    owners = {s.key.to_user_string(): s.owners for s in specs}
    assert owners["marts/dim_customers"] == ["team:analytics-engineering"]
    assert owners["raw/crm_contacts"] == ["team:data-engineering"]
    marts = [s for s in specs if s.key.path[0] == "marts"]
    assert marts and [s.key for s in marts if s.freshness_policy is None] == []
    # the superseded freshness checks (and their sensor) are gone
    assert not [
        key
        for checks in definitions.asset_checks or []
        for key in checks.check_keys
        if "freshness" in key.name
    ]


def freshness_after(definitions: dg.Definitions, key: dg.AssetKey, hours: float) -> str:
    """The state Dagster's freshness daemon gives `key` `hours` after it was materialised."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime, timedelta

    from dagster._core.definitions.freshness_evaluator import FRESHNESS_EVALUATORS_BY_POLICY_TYPE
    from dagster._core.loader import LoadingContextForTest
    from dagster._core.test_utils import freeze_time

    node = definitions.resolve_asset_graph().get(key)
    policy = node.freshness_policy_or_from_metadata
    evaluator = FRESHNESS_EVALUATORS_BY_POLICY_TYPE[type(policy)]()
    materialized_at = datetime(2026, 11, 2, 2, 30, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        with freeze_time(materialized_at):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
        # in a thread of its own: an earlier test (Playwright's sync API) may have left an
        # event loop running in this one, and asyncio.run refuses to nest
        with (
            freeze_time(materialized_at + timedelta(hours=hours)),
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            evaluation = evaluator.evaluate_freshness(LoadingContextForTest(instance), node)
            state = pool.submit(asyncio.run, evaluation).result()
    return state.value


def test_a_mart_is_flagged_stale_once_the_daily_run_was_missed(
    definitions: dg.Definitions,
) -> None:
    dim_customers = dg.AssetKey(["marts", "dim_customers"])
    assert freshness_after(definitions, dim_customers, hours=23) == "PASS"
    assert freshness_after(definitions, dim_customers, hours=27) == "FAIL"


def test_jobs_retry_transient_failures_with_backoff(definitions: dg.Definitions) -> None:
    for name in ("full_pipeline", "clickstream_extract", "retrain_models"):
        policy = definitions.resolve_job_def(name).op_retry_policy
        assert policy is not None and policy.max_retries >= 2, name
        assert policy.backoff == dg.Backoff.EXPONENTIAL

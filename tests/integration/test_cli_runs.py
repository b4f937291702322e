"""`customer360 run | backfill` as a user meets them: a quiet summary, the logs in a named
file, the run recorded for the UI, and a failure that says what failed and what to do."""

import gzip
import itertools
import os
import re
from pathlib import Path

import dagster as dg
import pytest

from orchestration.settings import dagster_home

pytestmark = pytest.mark.slow


def log_file_named_in(output: str) -> Path:
    match = re.search(r"Log \(Dagster and dbt output\): (\S+)", output)
    assert match, output
    return Path(match.group(1))


def test_a_run_prints_a_short_summary_and_keeps_the_logs_in_a_file(tmp_path: Path, run_cli) -> None:
    result = run_cli("run", "group:extract", "--warehouse", tmp_path / "w.duckdb")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) <= 15, result.stdout
    assert " - dagster - " not in result.stdout  # Dagster's log lines went to the file
    assert re.search(r"run\s+ok\s+\d+ assets, \d+ checks passed", result.stdout)
    log = log_file_named_in(result.stdout)
    assert " - dagster - " in log.read_text()
    with dg.DagsterInstance.from_config(str(dagster_home())) as instance:
        run_id = re.search(r"\(run ([0-9a-f]{8})\)", result.stdout).group(1)
        runs = [r for r in instance.get_runs() if r.run_id.startswith(run_id)]
    assert runs and runs[0].tags["customer360/launched_by"] == "cli"


def test_a_failed_run_exits_1_with_one_paragraph_naming_the_step_and_the_log(
    tmp_path: Path, run_cli
) -> None:
    # dim_customers alone on an empty warehouse: its upstream tables do not exist.
    result = run_cli("run", 'key:"marts/dim_customers"', "--warehouse", tmp_path / "empty.duckdb")
    assert result.exit_code == 1, result.output
    paragraph = result.stderr.strip()
    assert paragraph.startswith("error: Step ") and " failed: " in paragraph
    assert str(log_file_named_in(result.stdout)) in " ".join(paragraph.split())
    assert "customer360 run 'key:\"marts/dim_customers\"'" in paragraph
    assert len(paragraph.split("\n\n")) == 1


def test_a_selection_matching_nothing_is_a_clear_error(tmp_path: Path, run_cli) -> None:
    result = run_cli("run", 'key:"marts/no_such_table"', "--warehouse", tmp_path / "w.duckdb")
    assert result.exit_code == 2
    assert "cannot run selection" in result.stderr and "group:marts" in result.stderr


def test_a_backfill_range_that_ends_before_it_starts_is_refused(run_cli) -> None:
    result = run_cli("backfill", "--from", "2026-11-03", "--to", "2026-11-01")
    assert result.exit_code == 2
    assert "before --from" in result.output
    assert os.environ.get("CUSTOMER360_AS_OF") is None


# The clickstream and order extracts, the daily-partitioned assets (decision 0015).
PARTITIONED_EXTRACTS = " or ".join(
    f'key:"{layer}/{table}"'
    for layer in ("raw", "quarantine")
    # the shop extract is one multi-asset: its accounts (live-only) come with its orders
    for table in ("web_events", "shop_customers", "shop_orders", "shop_order_lines")
)


def head_of(path: Path, to: Path, lines: int = 200) -> None:
    """The file's first lines under the same name: a small delivery of that day (quick)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as src, opener(to, "wt", encoding="utf-8") as dst:
        dst.writelines(itertools.islice(src, lines))


def test_a_two_day_backfill_loads_each_days_delivery_in_that_days_partition(
    tmp_path: Path, run_cli, monkeypatch
) -> None:
    import duckdb

    from orchestration.settings import SAMPLE_LANDING_DIR, SAMPLE_NEXT_DAY_DIR

    landing = tmp_path / "landing"  # both days' deliveries side by side, as they would land
    for day in (SAMPLE_LANDING_DIR, SAMPLE_NEXT_DAY_DIR):
        for source in ("web", "shop"):
            for delivered in (day / source).iterdir():
                head_of(delivered, landing / source / delivered.name)
    monkeypatch.setenv("CUSTOMER360_LANDING_DIR", str(landing))
    warehouse = tmp_path / "w.duckdb"

    result = run_cli(
        "backfill", "--from", "2026-11-01", "--to", "2026-11-02", PARTITIONED_EXTRACTS,
        "--warehouse", warehouse,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"2026-11-01\s+ok", result.stdout) and re.search(
        r"2026-11-02\s+ok", result.stdout
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loads = con.execute(
            "select run_id, list(file_path order by file_path) from audit.load_audit "
            "group by run_id order by min(loaded_at)"
        ).fetchall()
    assert [files for _, files in loads] == [
        [
            "shop/order_lines_2026-11-01.csv",
            "shop/orders_2026-11-01.csv",
            "web/events_2026-11-01.ndjson.gz",
        ],
        [
            "shop/order_lines_2026-11-02.csv",
            "shop/orders_2026-11-02.csv",
            "web/events_2026-11-02.ndjson.gz",
        ],
    ]
    with dg.DagsterInstance.from_config(str(dagster_home())) as instance:
        for table in ("raw/web_events", "raw/shop_orders"):
            key = dg.AssetKey.from_user_string(table)
            assert instance.get_materialized_partitions(key) >= {"2026-11-01", "2026-11-02"}
        runs = {r.run_id: r for r in instance.get_runs()}
        assert [runs[run_id].tags["dagster/partition"] for run_id, _ in loads] == [
            "2026-11-01",
            "2026-11-02",
        ]

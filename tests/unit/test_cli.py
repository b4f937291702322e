"""The one command line: every command answers --help with an example, and errors are clear."""

from pathlib import Path

import typer.main

from orchestration.cli import app


def command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):  # a group (typer's own click types)
            paths += [[name, sub] for sub in command.commands]
        else:
            paths.append([name])
    return paths


def test_every_command_has_help_with_an_example(run_cli) -> None:
    paths = command_paths()
    assert ["demo"] in paths and ["quality", "replay"] in paths and ["segments", "compile"] in paths
    for path in paths:
        result = run_cli(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Example: customer360 " + path[0] in " ".join(result.stdout.split()), path


def test_summary_of_a_missing_warehouse_says_what_to_do(tmp_path: Path, run_cli) -> None:
    result = run_cli("summary", "--warehouse", tmp_path / "none.duckdb")
    assert result.exit_code == 2
    assert "none.duckdb does not exist" in result.stderr and "customer360 demo" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_quality_rules_prints_the_catalogue(run_cli) -> None:
    result = run_cli("quality", "rules")
    assert result.exit_code == 0
    assert result.stdout.startswith("| table | rule | family | severity |")
    assert "| shop_orders |" in result.stdout


def test_the_demo_runs_each_sample_day_as_its_delivery_partition(tmp_path: Path) -> None:
    from orchestration.cli.run import delivered_on_their_days, demo_days
    from orchestration.settings import get_settings

    days = demo_days(get_settings())
    assert [label for label, _ in days] == ["2026-11-01", "2026-11-02"]
    assert delivered_on_their_days(days)
    # a folder holding another day's file is built without a partition, so nothing is missed
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "events_2026-10-31.ndjson.gz").write_bytes(b"")
    other = get_settings().with_overrides(landing_dir=tmp_path, as_of="2026-11-01T00:00:00")
    assert not delivered_on_their_days([("build", other)])

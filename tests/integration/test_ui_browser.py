"""The Dagster UI, opened in a real headless browser on a run the CLI recorded.

The fixture records one small run (the catalogue's extract, with its quality checks) in a
throwaway DAGSTER_HOME, the way `make demo` records into `.dagster_home`, and starts
`dagster-webserver` on the project's definitions and that instance on a free loopback port
(as `make ui` does). Debian's chromium, driven by Playwright, then opens the asset graph and
the page of `raw/catalog_products` and the test asserts on what a newcomer sees there.
Every wait is for a selector, never a sleep. Screenshots go to the test's temporary folder
(printed with `-s`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.browser import Browser, OpenedPage

# A few seconds when the machine is idle; the code server loads every definition (and dbt's
# manifest) before the webserver answers, which on a loaded 2-core machine takes far longer.
STARTUP_SECONDS = 300
PAGE_TIMEOUT_MS = 120_000
ASSET = "raw/catalog_products"
# The extract is one multi-asset per source: raw and quarantine are materialised together.
SELECTION = 'key:"raw/catalog_products" or key:"quarantine/catalog_products"'
# Dagster's "join the community" dialog covers the page on a first visit; this is the
# browser-side flag its Skip button sets.
SKIP_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', JSON.stringify('1'))"


@dataclass(frozen=True)
class RecordedUI:
    url: str
    warehouse: Path
    run_id: str
    groups: tuple[str, ...]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_webserver(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`dagster-webserver` on the project's definitions, as `make ui` serves them."""
    webserver = Path(sys.executable).with_name("dagster-webserver")
    with log.open("w") as out:
        return subprocess.Popen(
            [str(webserver), "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the webserver's health endpoint until it answers (it does once the code loaded)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not answer in {STARTUP_SECONDS}s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def record_small_run(env: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """Run the catalogue's extract through the CLI's own path, recorded in env's instance."""
    from orchestration.cli.run import load_definitions, materialize

    with pytest.MonkeyPatch.context() as patch:
        for name in ("DAGSTER_HOME", "CUSTOMER360_WAREHOUSE", "CUSTOMER360_LANDING_DIR"):
            patch.setenv(name, env[name])
        result = materialize(SELECTION)
        groups = {spec.group_name for spec in load_definitions().resolve_all_asset_specs()}
    assert result.success, "the catalogue's extract failed; see the test's log"
    return result.run_id, tuple(sorted(group for group in groups if group))


@pytest.fixture(scope="module")
def recorded_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordedUI]:
    from orchestration.cli.run import INSTANCE_CONFIG
    from orchestration.settings import SAMPLE_LANDING_DIR

    work = tmp_path_factory.mktemp("ui")
    home = work / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")  # what `make ui` does
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CUSTOMER360_WAREHOUSE": str(work / "warehouse.duckdb"),
        "CUSTOMER360_LANDING_DIR": str(SAMPLE_LANDING_DIR),
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "webserver.log"
    # The webserver loads the definitions while this process records the run: both take a
    # while, and the UI reads runs from the instance whenever they land.
    process = start_webserver(port, env, log)
    try:
        run_id, groups = record_small_run(env)
        wait_until_serving(url, process, log)
        yield RecordedUI(url, Path(env["CUSTOMER360_WAREHOUSE"]), run_id, groups)
    finally:
        stop(process)


def open_page(browser: Browser, url: str) -> OpenedPage:
    opened = browser.open("about:blank", width=1600, height=1000)
    opened.page.set_default_timeout(PAGE_TIMEOUT_MS)
    opened.page.add_init_script(SKIP_COMMUNITY_DIALOG)
    opened.page.goto(url)
    return opened


def screenshot(opened: OpenedPage, path: Path) -> None:
    opened.page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def test_asset_graph_draws_every_group_and_the_extracts_neighbours(
    recorded_ui: RecordedUI, browser: Browser, tmp_path: Path
) -> None:
    opened = open_page(browser, f"{recorded_ui.url}/asset-groups")
    page = opened.page
    page.get_by_text("Global asset lineage").wait_for()
    for group in recorded_ui.groups:
        # a box per group in the graph (the sidebar lists them too, without the tooltip)
        page.locator(f"[data-tooltip='{group}']").first.wait_for()
    screenshot(opened, tmp_path / "asset-graph.png")
    assert not opened.errors, opened.errors

    opened = open_page(browser, f"{recorded_ui.url}/assets/{ASSET}?view=lineage")
    page = opened.page
    # the extract's two tables (raw, quarantine) and the audit of landing files beside them
    page.get_by_text("landing_files", exact=True).filter(visible=True).wait_for()
    page.get_by_text("catalog_products", exact=True).filter(visible=True).nth(2).wait_for()
    screenshot(opened, tmp_path / "asset-lineage.png")
    assert not opened.errors, opened.errors


def test_asset_page_shows_the_recorded_materialization(
    recorded_ui: RecordedUI, browser: Browser, tmp_path: Path
) -> None:
    import duckdb

    with duckdb.connect(str(recorded_ui.warehouse), read_only=True) as con:
        (rows,) = con.execute("select count(*) from raw.catalog_products").fetchone()
    opened = open_page(browser, f"{recorded_ui.url}/assets/{ASSET}")
    page = opened.page
    page.get_by_text("Latest materialization").wait_for()
    page.get_by_text("rows_quarantined", exact=True).wait_for()  # the extract's metadata
    text = page.inner_text("body")
    screenshot(opened, tmp_path / "asset-page.png")
    assert "Never materialized" not in text
    assert f"Row count\n{rows:,}" in text, "the row count of the recorded run is not shown"
    assert "data-engineering" in text  # the owner definitions.py gives the extract group
    assert "product_id" in text  # the column schema from the raw contract

    opened = open_page(browser, f"{recorded_ui.url}/runs/{recorded_ui.run_id}")
    page = opened.page
    page.get_by_text("RUN_SUCCESS").first.wait_for()
    assert "customer360_cli" in page.inner_text("body")

"""The Dagster UI, opened in a real headless browser on the runs the pipeline recorded.

The session's pipeline run (the `sample_pipeline` fixture) is recorded in the tests'
DAGSTER_HOME, as `make demo` records into `.dagster_home`. This test starts the Dagster
webserver on that instance on a free port, opens the asset graph and the page of
`marts/dim_customers` in Debian's chromium through Playwright, and asserts on what a
newcomer sees: the assets, their last materialisation, row counts, owners and checks.
Screenshots go to the test's temporary folder (printed with `-s`).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
# The webserver loads the definitions (and dbt's manifest) in a code server first; on a
# loaded 2-core machine that takes a while.
STARTUP_SECONDS = 240
PAGE_TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"dagster-webserver did not answer in {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def dagster_ui(sample_pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The webserver on the instance holding the session's pipeline run; yields its URL."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: `apt-get install -y chromium` (.ci/run does)")
    _, warehouse = sample_pipeline
    port = free_port()
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    env = {**os.environ, "CUSTOMER360_WAREHOUSE": str(warehouse)}
    webserver = Path(sys.executable).with_name("dagster-webserver")
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(webserver), "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_asset_graph_shows_the_pipeline_from_extract_to_marts(
    dagster_ui: str, browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{dagster_ui}/asset-groups")
    # The lineage graph draws one node per asset; the marts and the extracts are among them.
    page.get_by_text("dim_customers", exact=True).first.wait_for()
    text = page.inner_text("body")
    screenshot = tmp_path / "asset-graph.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"asset graph screenshot: {screenshot}")
    for group in ("extract", "staging", "marts", "identity"):
        assert group in text, f"group {group!r} not in the asset graph"
    assert "Never materialized" not in text or "Materialized" in text


def test_asset_page_shows_the_recorded_materialization_with_row_count_and_owner(
    dagster_ui: str, browser, tmp_path: Path, sample_pipeline
) -> None:
    import duckdb

    _, warehouse = sample_pipeline
    with duckdb.connect(str(warehouse), read_only=True) as con:
        customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{dagster_ui}/assets/marts/dim_customers")
    page.get_by_text("team:analytics-engineering").first.wait_for()
    page.get_by_text(f"{customers:,}").first.wait_for()  # the row count fetched from dbt
    text = page.inner_text("body")
    screenshot = tmp_path / "dim-customers.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"asset page screenshot: {screenshot}")
    assert "Never materialized" not in text, "the demo's materialization is not visible"
    assert "Row count" in text
    assert "customer_key" in text  # the column schema dagster-dbt fetched


def test_runs_page_lists_the_recorded_full_pipeline_run(dagster_ui: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{dagster_ui}/runs")
    page.get_by_text("full_pipeline").first.wait_for()
    assert "Success" in page.inner_text("body")

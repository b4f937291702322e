"""Every run writes the dashboard; on the sample it draws the marts, models, identity and DQ."""

import pytest

from tests.unit.test_dashboard import CHARTS

pytestmark = pytest.mark.slow


def test_the_pipeline_writes_a_dashboard_that_draws_in_chromium(sample_pipeline, browser):
    from orchestration.settings import get_settings

    result, _ = sample_pipeline
    assert result.success
    page_file = get_settings().dashboard_path
    assert page_file.exists()

    opened = browser.open(page_file.as_uri())
    page = opened.page
    page.wait_for_function("document.body.dataset.charts !== undefined", timeout=60_000)
    assert page.evaluate("document.body.dataset.charts") == "drawn"
    drawn = {d.get_attribute("data-chart") for d in page.locator(".chart[data-drawn]").all()}
    assert drawn >= CHARTS
    # the sample plants bad rows: the drill-down lists their rules with sample rows
    assert page.locator("details.rule").count() >= 5
    assert "anonymous store buyers" in page.locator(".cards").inner_text()
    assert not opened.errors
    assert all(url.startswith("file:") for url in opened.requests)


def test_the_dashboard_command_redraws_it_from_the_warehouse(sample_pipeline, run_cli, tmp_path):
    _, warehouse = sample_pipeline
    out = tmp_path / "redrawn.html"

    result = run_cli("dashboard", "--warehouse", warehouse, "--out", out)

    assert result.exit_code == 0, result.stdout
    assert f"{out}" in result.stdout
    assert "RFM grid" in out.read_text()

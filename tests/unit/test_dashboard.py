"""The dashboard: drawn from a small warehouse, opened in headless chromium, offline."""

from pathlib import Path

import duckdb
import pytest

from python_models.dashboard import collect_dashboard_data, render_dashboard, write_dashboard

CHARTS = {"segments", "rfm", "clusters", "quality", "identity"}


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    for schema in ("marts", "models", "dq", "quarantine", "identity"):
        con.execute(f"create schema {schema}")
    con.execute(
        """
        create table marts.segment_summary as select * from (values
          (timestamp '2026-11-01', 'at_risk', 'rfm', 10, 10, 0),
          (timestamp '2026-11-02', 'at_risk', 'rfm', 12, 4, 2),
          (timestamp '2026-11-01', 'vips', 'rule', 5, 5, 0),
          (timestamp '2026-11-02', 'vips', 'rule', 4, 0, 1)
        ) t(as_of, segment, segment_type, members, entries, exits);
        create table marts.customer_rfm as
          select 'c' || i as customer_key, 1 + i % 5 as r_score, 1 + (i // 5) % 5 as fm_score,
                 case when i % 5 = 4 then 'champions' else 'lost' end as rfm_segment,
                 (i * 10.0)::decimal(18, 2) as monetary
          from range(50) r(i);
        create table marts.dim_customers as select customer_key from marts.customer_rfm;
        create table marts.fct_orders as select * from (values
          ('o1', 'c1', 'online', 100.00), ('o2', null, 'store', 40.00),
          ('o3', null, 'store', 10.00), ('o4', 'c2', 'store', 50.00)
        ) t(order_id, customer_key, channel, net_amount_reporting);
        create table models.cluster_profiles as select 0 as cluster_id,
          'high-value frequent' as cluster_label, 30 as n_customers,
          0.6 as share_of_customers, 12.0 as centroid_recency_days, 4.0 as centroid_frequency,
          300.0 as centroid_monetary, 75.0 as centroid_avg_order_value,
          9.0 as centroid_events_90d, 2.0 as centroid_email_clicks_90d,
          ['frequency > 3'] as rules;
        create table dq.dq_scorecard as select * from (values
          ('shop_orders', 'l1', timestamp '2026-11-01 01:00', 100, 3, 1.0, 0.97, 1.0, 1.0, 1.0,
           0.99),
          ('shop_orders', 'l2', timestamp '2026-11-02 01:00', 100, 8, 1.0, 0.92, 1.0, 1.0, 1.0,
           0.95)
        ) t(source, load_id, loaded_at, rows_read, rows_quarantined, completeness, validity,
            consistency, uniqueness, timeliness, dq_score);
        create table quarantine.shop_orders as select * from (values
          ('o9', 'ann.smith@example.com', 'shipped', '2', 1, ['status_accepted_values'],
           timestamp '2026-11-02', null::timestamp),
          ('o8', 'bo@example.com', 'completed', '2', 2, ['status_accepted_values'],
           timestamp '2026-11-02', timestamp '2026-11-03')
        ) t(order_id, customer_email, status, _load_id, _row_number, failed_rules,
            quarantined_at, released_at);
        create table identity.identity_graph as
          select 'crm' as source_system, 'r' || i as source_record_id,
                 'c' || (i // 3) as customer_key
          from range(30) r(i);
        create table identity.identity_merges (merged_at timestamp);
        create table identity.identity_splits (split_at timestamp);
        create table identity.identity_review_queue as select 1 as x;
        """
    )
    yield con
    con.close()


def test_the_drill_down_names_each_failing_rule_in_words_and_masks_personal_data(warehouse):
    data = collect_dashboard_data(warehouse)

    rules = data.failing_rules.set_index("rule")
    # the released row no longer counts; the steward reads the rule, not a synthetic column
    assert rules.loc["status_accepted_values", "rows_quarantined"] == 1
    what_it_checks = rules.loc["status_accepted_values", "what_it_checks"]
    assert "one of " in what_it_checks and "completed" in what_it_checks
    sample = data.quarantine_samples[("shop_orders", "status_accepted_values")]
    assert sample["status"].tolist() == ["shipped"]
    assert "ann.smith" not in sample["customer_email"].iloc[0]
    assert sample["customer_email"].iloc[0].startswith("a… (21 chars, masked)")
    # anonymous store buyers are counted, not lost
    assert data.headline["anonymous_revenue_gbp"] == 50.0
    assert data.headline["net_revenue_gbp"] == 200.0


def test_the_dashboard_draws_every_chart_offline_and_says_what_has_not_run(
    warehouse, browser, tmp_path: Path
):
    page_file = write_dashboard(
        tmp_path / "dashboard.html", render_dashboard(collect_dashboard_data(warehouse))
    )

    opened = browser.open(page_file.as_uri())
    page = opened.page
    page.wait_for_function("document.body.dataset.charts !== undefined", timeout=60_000)
    assert page.evaluate("document.body.dataset.charts") == "drawn"
    drawn = {
        div.get_attribute("data-chart"): div.locator("svg path, svg .mark-symbol").count()
        for div in page.locator(".chart").all()
    }
    assert set(drawn) == CHARTS
    assert all(marks > 0 for marks in drawn.values()), drawn
    # two runs: the segments chart draws one line per segment
    assert page.locator("#chart-segments .mark-line path").count() == 2
    assert "£50 (25%, 2 orders)" in page.locator(".cards").inner_text()
    text = page.inner_text("body")
    assert "Churn scores (models.customer_churn_scores): not run yet" in text
    assert "Experiment results (exports.experiment_results): not run yet" in text
    # the quality checks link here (dashboard.html#quality): each failing rule, opened
    rule = page.locator('#quality details.rule[data-rule="status_accepted_values"]')
    rule.locator("summary").click()
    assert "shipped" in rule.inner_text()
    screenshot = page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert len(screenshot) > 50_000  # a page of charts, not a blank one
    assert not opened.errors
    assert all(url.startswith("file:") for url in opened.requests)  # opens offline


def test_an_empty_warehouse_gives_a_page_that_says_not_run_yet(browser, tmp_path: Path):
    con = duckdb.connect()
    page_file = write_dashboard(
        tmp_path / "dashboard.html", render_dashboard(collect_dashboard_data(con))
    )

    opened = browser.open(page_file.as_uri())
    opened.page.wait_for_function("document.body.dataset.charts !== undefined")
    assert opened.page.evaluate("document.body.dataset.charts") == "drawn"
    assert opened.page.locator(".not-run").count() == 9
    assert not opened.errors

"""Holdout experiments end to end on a small warehouse: assignment stays put, results
follow the peeking guard, and the report renders in a real headless browser."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from python_models.activation.experiments import (
    daily_conversion,
    experiment_results,
    load_outcomes,
    store_results,
)
from python_models.activation.export import ExportRequest, export_audience
from python_models.activation.report import render_report, write_report
from tests.support.activation import AS_OF, Person, audience, build_marts

HOLDOUT = {
    "experiment": "vip_test",
    "salt": "vip-test",
    "control_share": 0.3,
    "outcome": "conversion",
    "window_days": 14,
    "analysis_date": "2026-11-15",
}


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def _people(n: int, segment: str = "vips") -> list[Person]:
    return [Person(f"c_{i:05d}", f"user{i:05d}@example.com", segments=(segment,)) for i in range(n)]


def test_control_is_left_out_and_stays_control_across_exit_and_reentry(con, tmp_path):
    aud = audience(holdout=HOLDOUT)
    build_marts(con, _people(2000))
    first = export_audience(con, ExportRequest(aud, "r1", AS_OF, tmp_path))
    arms = dict(
        con.execute(
            "select customer_key, arm from exports.experiment_assignments order by customer_key"
        ).fetchall()
    )
    control = {k for k, a in arms.items() if a == "control"}
    assert abs(len(control) / 2000 - 0.3) < 0.03
    exported = {r[0] for r in con.execute("select customer_key from exports.export_vip").fetchall()}
    assert exported.isdisjoint(control)
    assert first.manifest["counts"]["holdout_control"] == len(control)

    # everyone leaves the segment, then comes back: same groups, assigned once
    build_marts(con, _people(2000, segment="other"))
    export_audience(con, ExportRequest(aud, "r2", AS_OF + timedelta(days=1), tmp_path))
    build_marts(con, _people(2000))
    export_audience(con, ExportRequest(aud, "r3", AS_OF + timedelta(days=2), tmp_path))
    again = dict(
        con.execute(
            "select customer_key, arm from exports.experiment_assignments order by customer_key"
        ).fetchall()
    )
    assert again == arms
    assigned_at = con.execute(
        "select distinct assigned_at from exports.experiment_assignments"
    ).fetchall()
    assert assigned_at == [(AS_OF.replace(tzinfo=None),)]


def test_changing_a_running_experiment_is_refused(con, tmp_path):
    build_marts(con, _people(50))
    export_audience(con, ExportRequest(audience(holdout=HOLDOUT), "r1", AS_OF, tmp_path))
    changed = audience(holdout={**HOLDOUT, "control_share": 0.5})
    with pytest.raises(ValueError, match="new experiment"):
        export_audience(con, ExportRequest(changed, "r2", AS_OF, tmp_path))


def _orders(con, rng, arms: dict[str, str], rate: dict[str, float]) -> None:
    """Completed orders: some before the export (pre-period), some in the window."""
    rows = []
    for key, arm in arms.items():
        if rng.random() < 0.3:
            rows.append((key, AS_OF - timedelta(days=int(rng.integers(1, 80))), 40.0))
        if rng.random() < rate[arm]:
            rows.append((key, AS_OF + timedelta(days=int(rng.integers(1, 14))), 55.0))
    frame = pd.DataFrame(rows, columns=["customer_key", "ordered_at", "net_amount_reporting"])
    frame["ordered_at"] = frame["ordered_at"].dt.tz_localize(None)
    frame["status"] = "completed"
    frame["is_return"] = False
    con.register("_orders", frame)
    con.execute("create or replace table marts.fct_orders as select * from _orders")


def test_results_wait_for_the_analysis_date_then_measure_the_uplift(con, tmp_path, browser):
    aud = audience(holdout=HOLDOUT)
    build_marts(con, _people(4000))
    export_audience(con, ExportRequest(aud, "r1", AS_OF, tmp_path))
    arms = dict(
        con.execute(
            "select customer_key, arm from exports.experiment_assignments order by customer_key"
        ).fetchall()
    )
    _orders(con, np.random.default_rng(3), arms, {"control": 0.10, "treatment": 0.20})

    early = datetime(2026, 11, 14, 12, tzinfo=UTC)  # windows closed, analysis date not yet
    waiting = experiment_results(aud, load_outcomes(con, aud.holdout, early), early)
    assert set(waiting["status"]) == {"waiting"}
    assert waiting["p_value"].isna().all() and waiting["value"].isna().all()

    late = datetime(2026, 11, 16, tzinfo=UTC)
    results = experiment_results(aud, load_outcomes(con, aud.holdout, late), late)
    store_results(con, results)
    stored = con.execute(
        "select arm, size, value, absolute_uplift, ci_low, ci_high, p_value from "
        "exports.experiment_results where outcome = 'conversion' "
        "and method = 'two_proportion_z' order by arm"
    ).fetchall()
    (c_arm, c_size, *_), (t_arm, t_size, _, uplift, low, high, p) = stored
    assert (c_arm, t_arm) == ("control", "treatment")
    assert c_size + t_size == 4000
    assert low < 0.10 < high and low < uplift < high
    assert p < 0.001
    cuped = results[(results["method"] == "cuped_welch_t") & (results["arm"] == "treatment")]
    assert set(cuped["outcome"]) == {"conversion", "revenue"}
    assert (cuped["variance_reduction"] >= 0).all()

    daily = daily_conversion(con, aud.holdout, late)
    html = render_report(aud, results, daily)
    report = write_report(tmp_path / "report.html", html)
    _open_in_chromium(browser, report)


def _open_in_chromium(browser, report: Path) -> None:
    opened = browser.open(report.as_uri())
    page = opened.page
    page.wait_for_selector("#charts svg, #charts canvas", timeout=20_000)
    assert page.locator("#status").get_attribute("data-status") == "final"
    marks = page.locator("#charts .mark-line path, #charts .mark-rule line").count()
    assert marks >= 2  # two groups' lines and the interval
    assert not opened.errors
    assert all(url.startswith("file:") for url in opened.requests)  # works offline


def test_the_measured_uplift_interval_contains_the_planted_effect(con, tmp_path):
    """The next-day delivery plants a known effect; the holdout analysis must find it.

    The sample's shoppers form an audience; its export's CSV goes to the generator (as it
    would go to the email tool), whose next-day delivery holds the day's organic orders
    and the recipients' responses. The test links those orders to customers by email
    (what identity's exact email rule does in the pipeline) and measures the experiment.
    """
    from orchestration.settings import SAMPLE_LANDING_DIR
    from python_models.sample_data.next_day import Campaign, write_next_day_delivery

    shoppers = con.execute(f"""
        select distinct lower(trim(customer_email)) from read_csv(
            '{SAMPLE_LANDING_DIR}/shop/orders_*.csv', all_varchar = true, ignore_errors = true)
        where status = 'completed' and customer_email like '%@%' order by 1
    """).fetchall()
    people = [Person(f"c_{i:05d}", email) for i, (email,) in enumerate(shoppers)]
    build_marts(con, people)
    one_day = {**HOLDOUT, "control_share": 0.5, "window_days": 1, "analysis_date": "2026-11-02"}
    aud = audience(holdout=one_day)
    result = export_audience(con, ExportRequest(aud, "r1", AS_OF, tmp_path / "exports"))
    campaign = Campaign(result.folder / "vip.csv", response_rate=0.3, name="vip")
    with duckdb.connect() as generator:
        delivery = write_next_day_delivery(
            generator, SAMPLE_LANDING_DIR, tmp_path / "day2", date(2026, 11, 2), campaign=campaign
        )
    truth = delivery.campaign
    assert truth["recipients"] == result.exported and truth["campaign_orders"] > 0
    day2 = tmp_path / "day2" / "shop"
    con.execute(f"""
        create or replace table marts.fct_orders as
        select c.customer_key, cast(o.ordered_at as timestamp) as ordered_at, o.status,
            coalesce(sum(try_cast(l.unit_price as double)), 0) as net_amount_reporting,
            false as is_return
        from read_csv('{day2}/orders_*.csv', all_varchar = true) as o
        join read_csv('{day2}/order_lines_*.csv', all_varchar = true) as l using (order_id)
        join marts.dim_customers as c on c.primary_email = lower(trim(o.customer_email))
        group by all
    """)
    late = datetime(2026, 11, 2, tzinfo=UTC)
    results = experiment_results(aud, load_outcomes(con, aud.holdout, late), late)
    raw = results[
        (results["outcome"] == "conversion")
        & (results["arm"] == "treatment")
        & (results["method"] == "two_proportion_z")
    ].iloc[0]
    planted = truth["planted_uplift"]
    assert planted == pytest.approx(0.3 * (1 - 0.05))
    assert raw["status"] == "final"
    assert raw["ci_low"] < planted < raw["ci_high"]
    assert raw["ci_low"] > 0  # and the test has the power to see it

"""Holdout statistics against known values, and the deterministic assignment."""

import numpy as np
import pytest

from python_models.activation.experiments import assign_arm, assignment_bucket
from python_models.activation.members import assignment_bucket_sql
from python_models.activation.statistics import (
    cuped_test,
    sample_size_means,
    sample_size_two_proportions,
    two_proportion_test,
    welch_test,
)


def test_two_proportion_z_test_matches_the_textbook_values():
    # 1,000/10,000 vs 1,100/10,000 conversions
    result = two_proportion_test(1000, 10_000, 1100, 10_000)
    assert result.statistic == pytest.approx(2.3066, abs=5e-5)
    assert result.p_value == pytest.approx(0.02108, abs=5e-6)
    assert result.ci_low == pytest.approx(0.0015, abs=5e-5)
    assert result.ci_high == pytest.approx(0.0185, abs=5e-5)
    assert result.absolute_uplift == pytest.approx(0.01)
    assert result.relative_uplift == pytest.approx(0.10)


def test_sample_size_for_ten_to_eleven_percent_is_about_14750_per_arm():
    n = sample_size_two_proportions(0.10, 0.11, confidence=0.95, power=0.8)
    assert abs(n - 14_750) <= 5
    # a bigger effect needs far fewer customers; more power needs more
    assert sample_size_two_proportions(0.10, 0.15) < 1_000
    assert sample_size_two_proportions(0.10, 0.11, power=0.9) > n
    with pytest.raises(ValueError, match="differ"):
        sample_size_two_proportions(0.1, 0.1)


def test_sample_size_for_means_uses_the_normal_approximation():
    # 2 * ((1.96 + 0.8416) * 10 / 1)^2 = 1569.8
    assert sample_size_means(10.0, 1.0) == 1570


def test_welch_matches_scipy_and_brackets_the_difference():
    rng = np.random.default_rng(7)
    control = rng.normal(10.0, 3.0, 500)
    treatment = rng.normal(11.0, 5.0, 400)
    result = welch_test(control, treatment)
    from scipy import stats

    expected = stats.ttest_ind(treatment, control, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.ci_low < result.absolute_uplift < result.ci_high
    assert result.ci_low < 1.0 < result.ci_high


def test_cuped_keeps_the_effect_and_narrows_the_interval():
    rng = np.random.default_rng(11)
    n = 4000
    pre = rng.gamma(2.0, 50.0, 2 * n)
    noise = rng.normal(0, 20, 2 * n)
    outcome = 0.8 * pre + noise
    outcome[n:] += 5.0  # treatment effect
    raw = welch_test(outcome[:n], outcome[n:])
    adjusted = cuped_test(outcome[:n], pre[:n], outcome[n:], pre[n:])
    assert adjusted.variance_reduction > 0.8
    width = adjusted.comparison.ci_high - adjusted.comparison.ci_low
    assert width < 0.5 * (raw.ci_high - raw.ci_low)
    assert adjusted.comparison.ci_low < 5.0 < adjusted.comparison.ci_high


def test_assignment_is_deterministic_and_splits_as_configured():
    keys = [f"c_{i:012x}" for i in range(20_000)]
    arms = [assign_arm("salt-a", k, 0.2) for k in keys]
    share = arms.count("control") / len(arms)
    assert share == pytest.approx(0.2, abs=0.01)
    assert arms == [assign_arm("salt-a", k, 0.2) for k in keys]  # stable
    other = [assign_arm("salt-b", k, 0.2) for k in keys]
    assert other != arms  # the salt decides, so experiments are independent


def test_sql_and_python_assignment_agree():
    import duckdb

    keys = [f"c_{i:012x}" for i in range(0, 5000, 7)]
    con = duckdb.connect()
    con.execute("create table k as select unnest(?) as customer_key", [keys])
    sql_buckets = dict(
        con.execute(f"select customer_key, {assignment_bucket_sql('s1')} from k").fetchall()
    )
    for key in keys:
        assert sql_buckets[key] == pytest.approx(assignment_bucket("s1", key), abs=1e-12)

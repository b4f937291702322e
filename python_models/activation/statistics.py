"""The statistics of a holdout test: pure functions on arrays, no warehouse.

- Conversion (0/1 per customer): the two-proportion z-test with the pooled standard error
  (statsmodels `proportions_ztest`), and the Wald interval of the difference (unpooled).
- Revenue (a number per customer): Welch's t-test (scipy), with the Welch–Satterthwaite
  interval of the difference in means.
- CUPED (Deng et al. 2013): y' = y − θ (x − mean x), θ = cov(x, y) / var(x) over both
  groups, x the customer's value of the same outcome in a pre-period. The adjusted
  difference is tested with Welch; `variance_reduction` = 1 − var(y') / var(y).
- Sample size per arm for two proportions (pooled variance under H0, unpooled under H1):
  n = (z₁₋α/₂ √(2 p̄ q̄) + z₁₋β √(p₁q₁ + p₂q₂))² / (p₂ − p₁)².

Peeking: these are fixed-horizon tests. An experiment declares its analysis date; results
before it are reported as waiting, without a p-value (python_models.activation.experiments).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest


@dataclass(frozen=True)
class Comparison:
    """Treatment vs control for one outcome."""

    method: str
    control_n: int
    treatment_n: int
    control_value: float  # rate or mean
    treatment_value: float
    absolute_uplift: float
    relative_uplift: float | None
    ci_low: float
    ci_high: float
    p_value: float
    statistic: float
    confidence: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def _relative(difference: float, base: float) -> float | None:
    return difference / base if base else None


def two_proportion_test(
    control_conversions: int,
    control_n: int,
    treatment_conversions: int,
    treatment_n: int,
    confidence: float = 0.95,
) -> Comparison:
    """Pooled two-proportion z-test and the Wald interval of treatment − control."""
    if min(control_n, treatment_n) < 1:
        raise ValueError("both groups need at least one customer")
    p_c = control_conversions / control_n
    p_t = treatment_conversions / treatment_n
    z, p_value = proportions_ztest(
        [treatment_conversions, control_conversions], [treatment_n, control_n]
    )
    se = math.sqrt(p_c * (1 - p_c) / control_n + p_t * (1 - p_t) / treatment_n)
    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    diff = p_t - p_c
    return Comparison(
        "two_proportion_z",
        control_n,
        treatment_n,
        p_c,
        p_t,
        diff,
        _relative(diff, p_c),
        float(diff - z_crit * se),
        float(diff + z_crit * se),
        float(p_value) if not math.isnan(p_value) else 1.0,
        float(z) if not math.isnan(z) else 0.0,
        confidence,
    )


def welch_test(
    control: np.ndarray, treatment: np.ndarray, confidence: float = 0.95, method: str = "welch_t"
) -> Comparison:
    """Welch's t-test of treatment − control means, with its interval."""
    control = np.asarray(control, dtype=float)
    treatment = np.asarray(treatment, dtype=float)
    if min(len(control), len(treatment)) < 2:
        raise ValueError("both groups need at least two customers")
    result = stats.ttest_ind(treatment, control, equal_var=False)
    var_c = control.var(ddof=1) / len(control)
    var_t = treatment.var(ddof=1) / len(treatment)
    se = math.sqrt(var_c + var_t)
    diff = float(treatment.mean() - control.mean())
    if se == 0:
        return Comparison(
            method,
            len(control),
            len(treatment),
            float(control.mean()),
            float(treatment.mean()),
            diff,
            _relative(diff, float(control.mean())),
            diff,
            diff,
            1.0 if diff == 0 else 0.0,
            0.0,
            confidence,
        )
    dof = (var_c + var_t) ** 2 / (var_c**2 / (len(control) - 1) + var_t**2 / (len(treatment) - 1))
    t_crit = stats.t.ppf(0.5 + confidence / 2, dof)
    return Comparison(
        method,
        len(control),
        len(treatment),
        float(control.mean()),
        float(treatment.mean()),
        diff,
        _relative(diff, float(control.mean())),
        float(diff - t_crit * se),
        float(diff + t_crit * se),
        float(result.pvalue),
        float(result.statistic),
        confidence,
    )


@dataclass(frozen=True)
class CupedResult:
    comparison: Comparison
    theta: float
    variance_reduction: float  # 1 − var(adjusted) / var(raw), over both groups


def cuped_test(
    control_y: np.ndarray,
    control_x: np.ndarray,
    treatment_y: np.ndarray,
    treatment_x: np.ndarray,
    confidence: float = 0.95,
) -> CupedResult:
    """CUPED-adjusted Welch test: the outcome minus θ × its centred pre-period value."""
    y = np.concatenate([control_y, treatment_y]).astype(float)
    x = np.concatenate([control_x, treatment_x]).astype(float)
    var_x = x.var(ddof=1)
    theta = float(np.cov(x, y, ddof=1)[0, 1] / var_x) if var_x > 0 else 0.0
    mean_x = x.mean()
    adj_c = np.asarray(control_y, float) - theta * (np.asarray(control_x, float) - mean_x)
    adj_t = np.asarray(treatment_y, float) - theta * (np.asarray(treatment_x, float) - mean_x)
    var_y = y.var(ddof=1)
    adjusted = np.concatenate([adj_c, adj_t])
    reduction = float(1 - adjusted.var(ddof=1) / var_y) if var_y > 0 else 0.0
    comparison = welch_test(adj_c, adj_t, confidence, method="cuped_welch_t")
    # report the groups' raw levels; the uplift and interval are the adjusted ones
    comparison = Comparison(
        comparison.method,
        comparison.control_n,
        comparison.treatment_n,
        float(np.mean(control_y)),
        float(np.mean(treatment_y)),
        comparison.absolute_uplift,
        _relative(comparison.absolute_uplift, float(np.mean(control_y))),
        comparison.ci_low,
        comparison.ci_high,
        comparison.p_value,
        comparison.statistic,
        confidence,
    )
    return CupedResult(comparison, theta, reduction)


def sample_size_two_proportions(
    baseline_rate: float,
    expected_rate: float,
    confidence: float = 0.95,
    power: float = 0.8,
) -> int:
    """Customers needed per arm to detect `baseline_rate` → `expected_rate` (two-sided)."""
    if not (0 < baseline_rate < 1 and 0 < expected_rate < 1):
        raise ValueError("rates must be strictly between 0 and 1")
    if baseline_rate == expected_rate:
        raise ValueError("the expected rate must differ from the baseline")
    if not (0 < confidence < 1 and 0 < power < 1):
        raise ValueError("confidence and power must be strictly between 0 and 1")
    z_alpha = stats.norm.ppf(0.5 + confidence / 2)
    z_beta = stats.norm.ppf(power)
    p_bar = (baseline_rate + expected_rate) / 2
    numerator = (
        z_alpha * math.sqrt(2 * p_bar * (1 - p_bar))
        + z_beta
        * math.sqrt(baseline_rate * (1 - baseline_rate) + expected_rate * (1 - expected_rate))
    ) ** 2
    return math.ceil(numerator / (expected_rate - baseline_rate) ** 2)


def sample_size_means(
    standard_deviation: float,
    minimum_difference: float,
    confidence: float = 0.95,
    power: float = 0.8,
) -> int:
    """Customers needed per arm to detect a difference in means (e.g. revenue)."""
    if standard_deviation <= 0 or minimum_difference == 0:
        raise ValueError("need a positive standard deviation and a non-zero difference")
    z_alpha = stats.norm.ppf(0.5 + confidence / 2)
    z_beta = stats.norm.ppf(power)
    return math.ceil(2 * ((z_alpha + z_beta) * standard_deviation / minimum_difference) ** 2)

"""Customer lifetime value: BG/NBD (purchase count, P(alive)) and Gamma-Gamma (spend per order).

A small implementation of the published likelihoods (Fader, Hardie & Lee 2005, "Counting
your customers the easy way"; Fader & Hardie 2013, "The Gamma-Gamma model of monetary
value"), fitted by maximum likelihood with scipy. Time is in days. The inputs are the
classic per-customer summary as of a cutoff:

- `frequency`: repeat purchases (distinct purchase days after the first one),
- `recency`: days between the first and the last purchase,
- `T`: days between the first purchase and the cutoff,
- `monetary_value`: mean value of the repeat purchases (Gamma-Gamma ignores the first).

Why our own and not a library: docs/decisions/0012-predictions.md. Every function here is
pure (arrays in, arrays out); a customer with no repeat purchase gets defined values
(P(alive) = 1 for a one-time buyer is what the model says, the population mean spend).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special


class ClvInputError(ValueError):
    """The summary handed to a fit breaks the model's assumptions (names the rule)."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}


def _check_summary(frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> None:
    if len(frequency) == 0:
        raise ClvInputError("BG/NBD needs at least one customer with a purchase")
    if np.any(~np.isfinite(frequency) | ~np.isfinite(recency) | ~np.isfinite(age)):
        raise ClvInputError("frequency, recency and T must be finite (no NaN)")
    if np.any(frequency < 0) or np.any(recency < 0):
        raise ClvInputError("frequency and recency must be >= 0")
    if np.any(recency > age + 1e-9):
        raise ClvInputError("recency must not exceed T (a purchase after the cutoff leaked in)")
    if np.any((frequency == 0) & (recency > 0)):
        raise ClvInputError("recency must be 0 for a customer without repeat purchases")


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of (x, t_x, T) under BG/NBD (FHL 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    *,
    penalizer: float = 0.0,
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters (L-BFGS-B on log-parameters)."""
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    _check_summary(x, t_x, big_t)
    # Scale time so alpha starts near 1 (the optimiser is scale-sensitive); undo at the end.
    scale = max(float(np.mean(big_t)), 1.0)

    def negative_ll(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        ll = bgnbd_log_likelihood(BgNbdParams(r, alpha, a, b), x, t_x / scale, big_t / scale)
        return -float(np.mean(ll)) + penalizer * float(np.sum(np.exp(log_params) ** 2))

    result = optimize.minimize(
        negative_ll,
        x0=np.log([1.0, 1.0, 1.0, 1.0]),
        method="L-BFGS-B",
        bounds=[(-12.0, 8.0)] * 4,
    )
    r, alpha, a, b = np.exp(result.x)
    return BgNbdParams(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def _alive_odds_ratio(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for repeat buyers, 0 otherwise."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.zeros_like(x)
    repeat = x > 0
    log_ratio = (
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + (r + x[repeat]) * (np.log(alpha + big_t[repeat]) - np.log(alpha + t_x[repeat]))
    )
    out[repeat] = np.exp(np.minimum(log_ratio, 700.0))
    return out


def probability_alive(
    params: BgNbdParams, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(customer still active | x, t_x, T) (FHL 2005, eq. 11 of the technical note)."""
    x = np.asarray(frequency, dtype=float)
    return 1.0 / (
        1.0
        + _alive_odds_ratio(
            params, x, np.asarray(recency, dtype=float), np.asarray(age, dtype=float)
        )
    )


def expected_purchases(
    params: BgNbdParams,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    horizon_days: float,
) -> np.ndarray:
    """E[purchases in (T, T + horizon] | x, t_x, T] (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    t = float(horizon_days)
    z = t / (alpha + big_t + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1) if a != 1 else (b + x) * 1e6
    numerator = head * (1.0 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp)
    value = numerator / (1.0 + _alive_odds_ratio(params, x, t_x, big_t))
    # hyp2f1 can overflow for extreme customers; the model's answer is then "about 0".
    return np.where(np.isfinite(value), np.maximum(value, 0.0), 0.0)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend m_x over x repeat purchases."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(frequency: np.ndarray, monetary_value: np.ndarray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters on repeat buyers with positive spend."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    use = (x > 0) & (m > 0) & np.isfinite(m)
    if use.sum() < 2:
        raise ClvInputError("Gamma-Gamma needs at least two repeat buyers with positive spend")
    x, m = x[use], m[use]
    scale = float(np.mean(m))

    def negative_ll(log_params: np.ndarray) -> float:
        p, q, v = np.exp(log_params)
        return -float(np.mean(gamma_gamma_log_likelihood(GammaGammaParams(p, q, v), x, m / scale)))

    result = optimize.minimize(
        negative_ll, x0=np.log([2.0, 3.0, 2.0]), method="L-BFGS-B", bounds=[(-10.0, 10.0)] * 3
    )
    p, q, v = np.exp(result.x)
    return GammaGammaParams(p=float(p), q=float(q), v=float(v * scale))


def expected_order_value(
    params: GammaGammaParams, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[spend per order | x, m_x]; the population mean p*v/(q-1) without repeat purchases."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(frequency, dtype=float)
    m = np.nan_to_num(np.asarray(monetary_value, dtype=float), nan=0.0)
    population_mean = p * v / (q - 1) if q > 1 else float("nan")
    conditional = (p * (v + x * m)) / (p * x + q - 1)
    return np.where((x > 0) & (m > 0), conditional, population_mean)


@dataclass(frozen=True)
class ClvModel:
    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    n_customers: int
    n_repeat_buyers: int

    def as_dict(self) -> dict[str, object]:
        return {
            "bgnbd": self.bgnbd.as_dict(),
            "gamma_gamma": self.gamma_gamma.as_dict(),
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
        }


SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def fit_clv(summary: pd.DataFrame) -> ClvModel:
    """Fit both models on a per-customer summary (columns SUMMARY_COLUMNS; buyers only)."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ClvInputError(f"summary is missing columns {missing}")
    bgnbd = fit_bgnbd(
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["T"].to_numpy(float),
    )
    gamma_gamma = fit_gamma_gamma(
        summary["frequency"].to_numpy(float), summary["monetary_value"].to_numpy(float)
    )
    return ClvModel(
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        n_customers=len(summary),
        n_repeat_buyers=int((summary["frequency"] > 0).sum()),
    )


def predict_clv(model: ClvModel, summary: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
    """expected_purchases, expected_order_value, expected_value and p_alive per summary row."""
    x = summary["frequency"].to_numpy(float)
    t_x = summary["recency"].to_numpy(float)
    big_t = summary["T"].to_numpy(float)
    purchases = expected_purchases(model.bgnbd, x, t_x, big_t, horizon_days)
    order_value = expected_order_value(
        model.gamma_gamma, x, summary["monetary_value"].to_numpy(float)
    )
    return pd.DataFrame(
        {
            "expected_purchases": purchases,
            "expected_order_value": order_value,
            "expected_value": purchases * order_value,
            "p_alive": probability_alive(model.bgnbd, x, t_x, big_t),
        },
        index=summary.index,
    )


@dataclass(frozen=True)
class ClvError:
    """Holdout error: per-customer MAE of purchases and value, and the total's relative error."""

    customers: int
    purchases_mae: float
    value_mae: float
    predicted_purchases_total: float
    actual_purchases_total: float
    purchases_total_error: float
    predicted_value_total: float
    actual_value_total: float
    value_total_error: float

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def clv_holdout_error(
    predicted_purchases: np.ndarray,
    actual_purchases: np.ndarray,
    predicted_value: np.ndarray,
    actual_value: np.ndarray,
) -> ClvError:
    """Compare predictions for a holdout period with what customers then actually did."""
    pp, ap = np.asarray(predicted_purchases, float), np.asarray(actual_purchases, float)
    pv, av = np.asarray(predicted_value, float), np.asarray(actual_value, float)

    def relative(pred: float, actual: float) -> float:
        return (pred - actual) / actual if actual else float("nan")

    return ClvError(
        customers=len(pp),
        purchases_mae=float(np.mean(np.abs(pp - ap))) if len(pp) else 0.0,
        value_mae=float(np.mean(np.abs(pv - av))) if len(pv) else 0.0,
        predicted_purchases_total=float(pp.sum()),
        actual_purchases_total=float(ap.sum()),
        purchases_total_error=relative(float(pp.sum()), float(ap.sum())),
        predicted_value_total=float(pv.sum()),
        actual_value_total=float(av.sum()),
        value_total_error=relative(float(pv.sum()), float(av.sum())),
    )

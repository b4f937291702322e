"""BG/NBD + Gamma-Gamma against values computed by hand, and defined outputs at the edges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from python_models.predictions import clv
from python_models.sample_data.transactions import generate_transactions

PARAMS = clv.BgNbdParams(r=1.0, alpha=2.0, a=2.0, b=3.0)


def test_log_likelihood_of_a_one_time_buyer_is_the_gamma_survival_term() -> None:
    # x = 0: L = (alpha / (alpha + T))^r = (2 / 8)^1
    ll = clv.bgnbd_log_likelihood(PARAMS, np.array([0.0]), np.array([0.0]), np.array([6.0]))
    assert ll[0] == pytest.approx(math.log(2 / 8))


def test_probability_alive_matches_the_hand_computed_value() -> None:
    # x=2, t_x=4, T=6: odds = a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) = 2/4 * (8/6)^3
    odds = 0.5 * (8 / 6) ** 3
    p = clv.probability_alive(
        PARAMS, np.array([2.0, 0.0]), np.array([4.0, 0.0]), np.array([6.0, 6.0])
    )
    assert p[0] == pytest.approx(1 / (1 + odds))
    assert p[1] == 1.0  # no repeat purchase yet: BG/NBD says still alive


def test_expected_purchases_matches_the_closed_form() -> None:
    # x=0, T=6, t=10: head (a+b-1)/(a-1) = 4; z = 10/18; 2F1(1, 3; 4; z) in closed form
    z = 10 / 18
    hyp = 3 / z**3 * (-math.log(1 - z) - z - z**2 / 2)
    expected = 4 * (1 - (8 / 18) * hyp)
    value = clv.expected_purchases(PARAMS, np.array([0.0]), np.array([0.0]), np.array([6.0]), 10)
    assert value[0] == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(0.85683, abs=1e-4)


def test_gamma_gamma_expected_order_value_by_hand() -> None:
    params = clv.GammaGammaParams(p=2.0, q=3.0, v=10.0)
    value = clv.expected_order_value(params, np.array([2.0, 0.0]), np.array([20.0, 0.0]))
    assert value[0] == pytest.approx(2 * (10 + 2 * 20) / (2 * 2 + 3 - 1))
    assert value[1] == pytest.approx(2 * 10 / (3 - 1))  # population mean for a one-time buyer


def test_fit_recovers_the_generating_process_and_predicts_the_holdout() -> None:
    """The generator is a BG/NBD-style process (gamma rates r=1.5, beta dropout a=1, b=6)."""
    orders = generate_transactions(4000, seed=3)
    cutoff = orders["ordered_at"].max() - pd.Timedelta(days=180)
    summary = summarise(orders, cutoff)
    model = clv.fit_clv(summary)
    assert model.bgnbd.r == pytest.approx(1.5, rel=0.35)
    assert model.bgnbd.a / (model.bgnbd.a + model.bgnbd.b) == pytest.approx(1 / 7, rel=0.35)
    predicted = clv.predict_clv(model, summary, 180)
    actual = summary["future_purchases"].to_numpy()
    error = clv.clv_holdout_error(
        predicted["expected_purchases"],
        actual,
        predicted["expected_value"],
        summary["future_value"].to_numpy(),
    )
    assert abs(error.purchases_total_error) < 0.15
    assert not predicted.isna().any().any()


def summarise(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    orders = orders.assign(day=orders["ordered_at"].dt.floor("D"))
    before = orders[orders["ordered_at"] < cutoff]
    after = orders[orders["ordered_at"] >= cutoff]
    days = before.groupby(["customer_id", "day"])["amount"].sum().reset_index()
    g = days.groupby("customer_id")
    first = g["day"].min()
    summary = pd.DataFrame(
        {
            "frequency": g.size() - 1,
            "recency": (g["day"].max() - first).dt.days,
            "T": (cutoff.floor("D") - first).dt.days,
            "monetary_value": (g["amount"].sum() - g["amount"].first()) / (g.size() - 1).clip(1),
        }
    )
    future = after.groupby("customer_id").agg(
        future_purchases=("day", "nunique"), future_value=("amount", "sum")
    )
    return summary.join(future).fillna({"future_purchases": 0, "future_value": 0})


def test_a_summary_with_leaked_purchases_is_refused() -> None:
    with pytest.raises(clv.ClvInputError, match="recency must not exceed T"):
        clv.fit_bgnbd(np.array([1.0, 2.0]), np.array([5.0, 9.0]), np.array([4.0, 10.0]))

"""Fellegi-Sunter estimation recovers known parameters from simulated comparison patterns."""

import numpy as np
import pytest

from python_models.identity.training import (
    FellegiSunterModel,
    estimate_m_by_em,
    estimate_u,
    expected_matches,
)

TRUE_M = [np.array([0.9, 0.07, 0.03]), np.array([0.85, 0.15])]
TRUE_U = [np.array([0.01, 0.04, 0.95]), np.array([0.02, 0.98])]


def _simulate(n_match: int, n_non: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = []
    for probs_m, probs_u in zip(TRUE_M, TRUE_U, strict=True):
        match = rng.choice(len(probs_m), size=n_match, p=probs_m)
        non = rng.choice(len(probs_u), size=n_non, p=probs_u)
        rows.append(np.concatenate([match, non]))
    patterns, counts = np.unique(np.stack(rows, axis=1), axis=0, return_counts=True)
    return patterns, counts


def test_em_recovers_m_and_match_share_with_u_fixed():
    patterns, counts = _simulate(n_match=3_000, n_non=27_000)
    model = estimate_m_by_em(patterns, counts, TRUE_U, names=["name", "dob"])
    assert model.match_share == pytest.approx(0.1, abs=0.01)
    for estimated, true in zip(model.m, TRUE_M, strict=True):
        np.testing.assert_allclose(estimated, true, atol=0.03)
    assert expected_matches(patterns, counts, model) == pytest.approx(3_000, rel=0.05)


def test_null_levels_are_ignored_and_u_never_zero():
    patterns = np.array([[0, -1], [2, 1], [2, -1]])
    counts = np.array([5, 90, 5])
    u = estimate_u(patterns, counts, [3, 2], prior_pairs=10)
    assert all((level_u > 0).all() for level_u in u)
    assert u[1].sum() == pytest.approx(1.0)
    # 95 of 100 pairs have a non-null dob; its levels are estimated from those only
    assert u[1][1] > 0.9


def test_em_refuses_empty_input():
    with pytest.raises(ValueError, match="no candidate pairs"):
        estimate_m_by_em(np.empty((0, 2), dtype=int), np.empty(0), TRUE_U, names=["a", "b"])


def test_level_unseen_among_matches_weighs_no_less_than_disagreement():
    # EM floors the m of a level no match showed (e.g. swapped names in data without any);
    # its weight must not fall below that of outright disagreement
    model = FellegiSunterModel(
        names=["given_name"],
        m=[np.array([0.9, 1e-6, 0.1 - 1e-6])],
        u=[np.array([0.01, 0.001, 0.989])],
        match_share=0.1,
        iterations=1,
    )
    exact, swapped, disagree = model.level_weights()[0]
    assert exact == pytest.approx(np.log2(0.9 / 0.01))
    assert swapped == pytest.approx(disagree)
    assert disagree == pytest.approx(np.log2((0.1 - 1e-6) / 0.989))


def test_weights_never_rise_along_a_chain_of_worsening_levels():
    from python_models.identity.training import cap_weights_along_chains

    # exact, street typo, other street (same postcode), missing street, else
    weights = np.array([14.0, 4.5, 9.3, 10.4, -3.7])
    capped = cap_weights_along_chains(weights, [[0, 1, 2]])
    assert capped.tolist() == [14.0, 4.5, 4.5, 10.4, -3.7]
    assert weights[2] == 9.3  # the input is left alone


def test_level_shares_are_weighted_and_leave_no_level_impossible():
    from python_models.identity.training import level_shares

    levels = np.array([0, 0, 1, -1, 2])
    shares = level_shares(levels, np.array([1.0, 1.0, 2.0, 5.0, 0.0]), n_levels=3)
    assert shares[0] == pytest.approx(0.5) and shares[1] == pytest.approx(0.5)
    assert 0 < shares[2] < 1e-5  # unseen among matches, yet not impossible

"""Fellegi-Sunter parameter estimation, as pure numpy over aggregated comparison patterns.

u-probabilities (how often a level occurs among non-matching pairs) come from random record
pairs; m-probabilities (how often among matches) and the share of matches among candidate
pairs come from expectation-maximisation over the candidate pairs, with u held fixed as
Splink does. EM runs on distinct comparison patterns with their counts, so its cost does not
depend on the number of pairs.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import duckdb
import numpy as np

from python_models.identity.comparisons import (
    Comparison,
    comparison_levels_sql,
    joint_levels,
    personal_agreement,
    training_comparisons,
)
from python_models.identity.config import MatchConfig

_FLOOR = 1e-6


@dataclass(frozen=True)
class FellegiSunterModel:
    """Estimated parameters: per comparison, m and u per non-null level, plus the prior."""

    names: list[str]
    m: list[np.ndarray]
    u: list[np.ndarray]
    match_share: float  # share of matches among the training pairs
    iterations: int
    # Probability that two records drawn at random match: the prior used for scoring.
    prior_probability: float | None = None

    def level_weights(self) -> list[np.ndarray]:
        """log2 Bayes factor of each level of each comparison, no agreement level below the
        last ("else", disagreement) level.

        A level that EM saw (almost) never among matches gets m at the floor and a weight far
        below disagreement, so on data without, say, swapped names a swapped pair would score
        worse than two different names. Partial agreement is never evidence against a match
        beyond what full disagreement is, so such levels weigh as disagreement.
        """
        weights = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(m / u)
            if w.size > 1:
                w[:-1] = np.maximum(w[:-1], w[-1])
            weights.append(w)
        return weights

    @property
    def prior_weight(self) -> float:
        prior = self.match_share if self.prior_probability is None else self.prior_probability
        return float(np.log2(prior / (1 - prior)))


def cap_weights_along_chains(weights: np.ndarray, chains: list[list[int]]) -> np.ndarray:
    """Weights (bits per level) with each level along a chain (level numbers, closest first)
    capped at the weight of the level before it, so weights never rise along a chain."""
    capped = weights.copy()
    for chain in chains:
        for before, level in itertools.pairwise(chain):
            capped[level] = min(capped[level], capped[before])
    return capped


def _log_bayes_factors(patterns: np.ndarray, m: list[np.ndarray], u: list[np.ndarray]):
    log_bf = np.zeros(patterns.shape[0])
    for j in range(patterns.shape[1]):
        present = patterns[:, j] >= 0
        levels = patterns[present, j]
        log_bf[present] += np.log(m[j][levels]) - np.log(u[j][levels])
    return log_bf


def expected_matches(
    patterns: np.ndarray,
    counts: np.ndarray,
    model: FellegiSunterModel,
    eligible: np.ndarray | None = None,
    iterations: int = 100,
) -> float:
    """Expected number of matches among the given (candidate) pairs, m and u held fixed and
    only the match share re-estimated by EM; ineligible patterns count as non-matches."""
    log_bf = _log_bayes_factors(patterns, model.m, model.u)
    if eligible is not None:
        log_bf = np.where(eligible, log_bf, -np.inf)
    counts = counts.astype(float)
    share = 0.5
    for _ in range(iterations):
        log_odds = np.log(share) - np.log1p(-share) + log_bf
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        new_share = float(np.clip((posterior * counts).sum() / counts.sum(), _FLOOR, 1 - _FLOOR))
        if abs(new_share - share) < 1e-9:
            break
        share = new_share
    return share * float(counts.sum())


def match_posterior(
    patterns: np.ndarray,
    model: FellegiSunterModel,
    eligible: np.ndarray | None = None,
    prior: float | None = None,
) -> np.ndarray:
    """Per pattern: the probability that its pairs match, under `prior` (default: the
    model's match share among the training pairs, as in EM's last E-step); ineligible
    patterns 0."""
    share = model.match_share if prior is None else prior
    log_odds = np.log(share) - np.log1p(-share) + _log_bayes_factors(patterns, model.m, model.u)
    posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
    return posterior if eligible is None else np.where(eligible, posterior, 0.0)


def level_shares(levels: np.ndarray, weights: np.ndarray, n_levels: int) -> np.ndarray:
    """Weighted share of each level 0..n_levels-1 (nulls, -1, left out), floored like EM's
    m so that no level is impossible."""
    freq = np.array([weights[levels == level].sum() for level in range(n_levels)], dtype=float)
    total = freq.sum()
    shares = freq / total if total > 0 else np.full(n_levels, 1.0 / n_levels)
    shares = np.clip(shares, _FLOOR, None)
    return shares / shares.sum()


def _prior_u(n_levels: int) -> np.ndarray:
    # Generic non-match level shares (exact 0.1%, each partial level 1%, the rest "else"):
    # what random pairs of person records typically show; only matters for tiny inputs.
    if n_levels == 1:
        return np.ones(1)
    prior = np.full(n_levels, 0.01)
    prior[0] = 0.001
    prior[-1] = 1.0 - prior[:-1].sum()
    return prior


def estimate_u(
    patterns: np.ndarray, counts: np.ndarray, n_levels: list[int], prior_pairs: float = 2000.0
) -> list[np.ndarray]:
    """Level frequencies among random pairs, shrunk towards generic shares by `prior_pairs`
    pseudo-pairs: negligible for real data (200k sampled pairs), decisive for a 10-row file
    whose few pairs say nothing reliable, and never leaving a level at u = 0.

    `patterns` is (n_patterns, n_comparisons) of levels (-1 = null), `counts` their counts.
    """
    result = []
    for j, n in enumerate(n_levels):
        column = patterns[:, j]
        freq = np.array([counts[column == level].sum() for level in range(n)], dtype=float)
        result.append((freq + prior_pairs * _prior_u(n)) / (freq.sum() + prior_pairs))
    return result


def _initial_m(n: int) -> np.ndarray:
    # Closest level most likely among matches, disagreement least: a start that puts EM in
    # the basin where "match" means agreement, not some other latent split.
    if n == 1:
        return np.ones(1)
    agree = np.linspace(0.6, 0.1, n - 1)
    m = np.append(agree, 0.02)
    return m / m.sum()


def estimate_m_by_em(
    patterns: np.ndarray,
    counts: np.ndarray,
    u: list[np.ndarray],
    names: list[str],
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    initial_match_share: float = 0.3,
    eligible: np.ndarray | None = None,
) -> FellegiSunterModel:
    """EM for m-probabilities and the match share among candidate pairs, u held fixed.

    Null levels carry no information (they contribute a Bayes factor of 1), so they are
    skipped in both the likelihood and the m re-estimation. Patterns where `eligible` is
    False are held to be non-matches: without that, pairs from one household (same
    address, phone and surname) form a second "match" class and inflate the m of name and
    birth-date disagreement, which independence-based scoring cannot undo.
    """
    if patterns.shape[0] == 0:
        raise ValueError("no candidate pairs to train on: blocking produced no pairs")
    n_comparisons = patterns.shape[1]
    counts = counts.astype(float)
    m = [_initial_m(len(uj)) for uj in u]
    share = initial_match_share
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - reported below
        log_odds = np.log(share) - np.log1p(-share) + _log_bayes_factors(patterns, m, u)
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        if eligible is not None:
            posterior = np.where(eligible, posterior, 0.0)
        weighted = posterior * counts
        new_share = float(np.clip(weighted.sum() / counts.sum(), _FLOOR, 1 - _FLOOR))
        new_m = []
        for j in range(n_comparisons):
            column = patterns[:, j]
            freq = np.array([weighted[column == level].sum() for level in range(len(u[j]))])
            total = freq.sum()
            mj = freq / total if total > 0 else m[j]
            mj = np.clip(mj, _FLOOR, None)
            new_m.append(mj / mj.sum())
        change = max(
            abs(new_share - share),
            max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)),
        )
        m, share = new_m, new_share
        if change < tolerance:
            break
    return FellegiSunterModel(names=names, m=m, u=u, match_share=share, iterations=iteration)


def _patterns(
    con: duckdb.DuckDBPyConnection, sql: str, comparisons: list[Comparison], count: str = "count(*)"
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level patterns of the pairs `sql` selects, with `count` (an aggregate) each."""
    gcols = ", ".join(f"g_{c.column}" for c in comparisons)
    frame = con.execute(f"select {gcols}, {count} as n from ({sql}) group by all order by all").df()
    patterns = frame[[f"g_{c.column}" for c in comparisons]].to_numpy(dtype=np.int64)
    return patterns, frame["n"].to_numpy(dtype=np.int64)


def _random_pairs_sql(records: str, out: str, n_records: int, config: MatchConfig) -> str:
    """SQL creating `out(l, r)`: pseudo-random record pairs for estimating u.

    Hash-based, not `random()`: DuckDB's seeded `random()` is not repeatable across threads,
    and a different sample means different u, different weights and, near a threshold, a
    different link and customer key. Records are ranked by the hash of their record id (not
    by row position, which depends on how the input was scanned), and draw i picks the
    records at ranks hash(i, seed, 1) and hash(i, seed, 2) modulo n: identical input, identical
    sample, on any thread count.
    """
    draws = max(1, min(config.u_sample_pairs, n_records * (n_records - 1) // 2))
    seed = int(config.random_seed)
    return f"""create or replace temp table {out} as
    with ranked as (
        select rid, row_number() over (order by hash(record_id, {seed}), record_id) - 1 as pos
        from {records}
    ),
    picks as (
        select hash(i, {seed}, 1) % {n_records} as lp, hash(i, {seed}, 2) % {n_records} as rp
        from range({draws}) as t(i)
    )
    select a.rid as l, b.rid as r
    from picks join ranked a on a.pos = picks.lp join ranked b on b.pos = picks.rp
    where a.rid <> b.rid"""


def train_model(
    con: duckdb.DuckDBPyConnection,
    records: str,
    pairs: str,
    comparisons: list[Comparison],
    config: MatchConfig,
    n_records: int,
    known_weight: int = 1,
) -> tuple[FellegiSunterModel, HouseholdGuard]:
    """u from random pairs, m by EM over candidate + random pairs, the prior, and whether
    the household guard is on for this data (`household_guard`). A pair inside a known
    group counts `known_weight` times (blocking kept 1 in that many)."""
    draws = f"{records}_draws"
    con.execute(_random_pairs_sql(records, draws, n_records, config))
    random_pairs = comparison_levels_sql(
        comparisons,
        "d.l, d.r",
        f"from {draws} d join {records} l on l.rid = d.l join {records} r on r.rid = d.r",
    )
    # EM trains single-field comparisons (a joint comparison's parts): see `_joint_model`.
    fields = training_comparisons(comparisons)
    u_patterns, u_counts = _patterns(con, random_pairs, fields)
    con.execute(f"drop table {draws}")
    n_levels = [len(c.levels) + 1 for c in fields]
    u = estimate_u(u_patterns, u_counts, n_levels, config.u_prior_pairs)
    candidate = f"select * from {pairs}"
    weight = (
        f"sum(case when known then {int(known_weight)} else 1 end)"
        if known_weight > 1
        else "count(*)"
    )
    m_patterns, m_counts = _patterns(con, candidate, fields, weight)
    # EM sees the candidate pairs plus the random pairs: blocked pairs alone are mostly
    # matches, which leaves the non-match side unidentified and the m of disagreement levels
    # inflated; random pairs pin it down.
    train_patterns = np.vstack([m_patterns, u_patterns])
    train_counts = np.concatenate([m_counts, u_counts])
    guard = household_guard(m_patterns, m_counts, fields, config)
    eligible = personal_agreement(train_patterns, fields) if guard.on else None
    model = estimate_m_by_em(
        train_patterns,
        train_counts,
        u,
        names=[c.name for c in fields],
        max_iterations=config.em_max_iterations,
        tolerance=config.em_tolerance,
        eligible=eligible,
    )
    # Prior as in Splink: the chance that two random records match, from the expected number
    # of matches among candidates over all possible pairs.
    m_eligible = personal_agreement(m_patterns, fields) if guard.on else None
    model = _with_prior(model, m_patterns, m_counts, m_eligible, n_records)
    # u again, from the random pairs the model holds to be non-matches (see
    # `non_match_counts`), and the prior under that u.
    u_eligible = personal_agreement(u_patterns, fields) if guard.on else None
    non_match = non_match_counts(u_patterns, u_counts, model, u_eligible)
    model = dataclasses.replace(
        model, u=estimate_u(u_patterns, non_match, n_levels, config.u_prior_pairs)
    )
    model = _with_prior(model, m_patterns, m_counts, m_eligible, n_records)
    model = _joint_model(
        model, comparisons, train_patterns, train_counts, eligible, u_patterns, non_match, config
    )
    return model, guard


def _with_prior(
    model: FellegiSunterModel,
    patterns: np.ndarray,
    counts: np.ndarray,
    eligible: np.ndarray | None,
    n_records: int,
) -> FellegiSunterModel:
    """The model with its scoring prior: expected matches among the candidate pairs over
    all record pairs."""
    total_pairs = n_records * (n_records - 1) / 2
    matches = expected_matches(patterns, counts, model, eligible)
    prior = float(np.clip(matches / total_pairs, 1e-12, 0.5))
    return dataclasses.replace(model, prior_probability=prior)


def non_match_counts(
    patterns: np.ndarray,
    counts: np.ndarray,
    model: FellegiSunterModel,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Random-pair pattern counts with the expected matches taken out: each count times the
    probability, under the model and its random-pair prior, that the pairs do not match.

    u is the level share among *non-matching* pairs, and random pairs are taken to be
    those. In a large file they are (at 100k people one random pair in ~100,000 matches),
    but in a small file with many duplicates they are not: in FEBRL1 (1,000 records, 500
    true pairs) one random pair in 1,000 matches, so the matches among them made "same
    street and postcode" look 30 times more common among non-matches than it is (u 3.4e-4
    against 1e-5), worth 5 bits less than it should."""
    posterior = match_posterior(patterns, model, eligible, prior=model.prior_probability)
    return counts * (1.0 - posterior)


def _joint_model(
    fields_model: FellegiSunterModel,
    comparisons: list[Comparison],
    patterns: np.ndarray,
    counts: np.ndarray,
    eligible: np.ndarray,
    u_patterns: np.ndarray,
    u_counts: np.ndarray,
    config: MatchConfig,
) -> FellegiSunterModel:
    """The scoring model: single-field m/u as trained, a joint comparison's m/u from its
    parts' levels.

    EM trains street, postcode and city as independent fields, as before: trained jointly,
    its one "no part agrees" level let EM's match class drift to "same name, anywhere" on the
    synthetic bench (that level's m rose to 0.41, and every disagreement weight weakened with
    it). The joint levels' m are then the level shares among the pairs that model holds to
    be matches (one M-step with its posteriors), their u the shares among the random pairs.
    """
    if not any(c.parts for c in comparisons):
        return fields_model
    fields = training_comparisons(comparisons)
    index = {c.column: j for j, c in enumerate(fields)}
    weighted = match_posterior(patterns, fields_model, eligible) * counts
    m, u = [], []
    for c in comparisons:
        if not c.parts:
            m.append(fields_model.m[index[c.column]])
            u.append(fields_model.u[index[c.column]])
            continue
        n_levels = len(c.levels) + 1
        levels = joint_levels(c, {p.column: patterns[:, index[p.column]] for p in c.parts})
        m.append(level_shares(levels, weighted, n_levels))
        random_levels = joint_levels(c, {p.column: u_patterns[:, index[p.column]] for p in c.parts})
        u.append(estimate_u(random_levels[:, None], u_counts, [n_levels], config.u_prior_pairs)[0])
    return dataclasses.replace(fields_model, names=[c.name for c in comparisons], m=m, u=u)


def _else_share(
    patterns: np.ndarray,
    counts: np.ndarray,
    fields: list[Comparison],
    index: dict[str, int],
    vary: str,
    agree: list[str],
) -> tuple[float, int]:
    """Share of pairs whose `vary` field (both known) disagrees outright, among the
    candidate pairs that agree exactly on every `agree` field; and how many pairs that is."""
    same = np.ones(patterns.shape[0], dtype=bool)
    for column in agree:
        same &= patterns[:, index[column]] == 0
    level = patterns[:, index[vary]]
    known = same & (level >= 0)
    total = int(counts[known].sum())
    if total == 0:
        return 0.0, 0
    differ = known & (level == fields[index[vary]].else_level)
    return float(counts[differ].sum() / total), total


def household_evidence(
    patterns: np.ndarray, counts: np.ndarray, fields: list[Comparison]
) -> dict[str, float] | None:
    """How often given names differ at one address under one surname, against how often
    surnames differ at one address under one given name.

    Typos hit both names alike, so in data of one person's duplicates (FEBRL) the two
    shares are close; a household is one surname at one address with several given names,
    so there the first share is far above the second. None when the mapping lacks a given
    name, a family name or an address."""
    index = {c.column: j for j, c in enumerate(fields)}
    address = [p for p in ("street", "postcode", "city") if p in index]
    if "given" not in index or "family" not in index or not address:
        return None
    given_share, given_pairs = _else_share(
        patterns, counts, fields, index, "given", ["family", *address]
    )
    family_share, family_pairs = _else_share(
        patterns, counts, fields, index, "family", ["given", *address]
    )
    return {
        "given_names_differ": round(given_share, 4),
        "family_names_differ": round(family_share, 4),
        "pairs": given_pairs + family_pairs,
    }


@dataclass(frozen=True)
class HouseholdGuard:
    """Whether pairs need their own personal evidence (a given name, birth date, email or
    personal id that agrees) to link, and what in the data decided it."""

    on: bool
    reason: str
    evidence: dict[str, float] | None = None

    def as_metadata(self) -> dict:
        return {"on": self.on, "reason": self.reason, **(self.evidence or {})}


def household_guard(
    patterns: np.ndarray, counts: np.ndarray, fields: list[Comparison], config: MatchConfig
) -> HouseholdGuard:
    """Turn the household guard on where the data shows households.

    `config.household_guard` 'on'/'off' forces it. 'auto' (the default) turns it on when
    given names differ at one address under one surname more than
    `household_ratio` times as often as surnames differ at one address under one given name
    (`household_evidence`), and keeps it on when there are too few such pairs to tell
    (fewer than `household_min_pairs`) or no names and address to look at."""
    if config.household_guard != "auto":
        return HouseholdGuard(config.household_guard == "on", f"forced {config.household_guard}")
    evidence = household_evidence(patterns, counts, fields)
    if evidence is None:
        return HouseholdGuard(True, "no given name, family name and address to measure")
    if evidence["pairs"] < config.household_min_pairs:
        return HouseholdGuard(True, "too few same-address pairs to measure", evidence)
    given, family = evidence["given_names_differ"], evidence["family_names_differ"]
    on = given > config.household_ratio * family
    reason = (
        f"given names differ at one address {given:.1%} of the time, surnames {family:.1%}: "
        + ("households" if on else "typos, no households")
    )
    return HouseholdGuard(on, reason, evidence)

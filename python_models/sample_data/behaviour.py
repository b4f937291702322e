"""How people buy, browse and leave: purchase cycles, engagement, and leaving with warning signs.

Real customers do not buy as a memoryless stream, and they do not vanish without a trace.
Each person here has
- an engagement level (gamma, mean 1) that scales how often they buy, browse and open mail;
- purchase cycles: gaps between purchase occasions are gamma-distributed around their own
  mean gap (shape `GAP_SHAPE`), on a clock that runs faster in November and December, so a
  regular who is overdue is news;
- a leaving time from two hazards. A steady drift (per-profile yearly rate) ends with a
  fade: for `FADE_DAYS` before the last day, purchases, visits and newsletter opens thin out
  towards `FADE_FLOOR` of their usual rate, as a customer slowly moves to a competitor.
  And a bad experience: some people get upset at one moment (a complaint ticket rated 1-2
  within days, orders returned more often, less buying, browsing and reading for a while),
  and most of them leave within weeks.

Leaving times fall anywhere, also after the churn cutoff or after `as_of` (then the person is
still active at `as_of` but may already be fading). Nothing here is written to a source
file as such: the sources only show the activity it shapes, which is what a churn model
has to read the signs from. Every draw comes from the caller's generator, so the output is
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from python_models.sample_data.config import SECONDS_PER_DAY, GeneratorConfig

# Jan..Dec activity multipliers; November and December peak.
MONTH_WEIGHT = np.array([0.8, 0.7, 0.85, 0.9, 0.95, 0.9, 0.9, 0.95, 1.0, 1.05, 1.6, 1.8])

ENGAGEMENT_SHAPE = 2.0
GAP_SHAPE = 5.0
# Yearly hazard of drifting away, by profile (index = position in reference.PROFILES).
DRIFT_HAZARD_PER_YEAR = np.array([0.06, 0.22, 0.28, 0.30])
FADE_DAYS = (60, 180)
FADE_FLOOR = 0.05
FADE_SPEED = {"session": 2.0, "email_open": 2.0}
# Share of people who have a bad experience at some point of a window that runs past as_of,
# the share of them who then leave, and after how many days (gamma mean) they do.
UPSET_SHARE = 0.4
UPSET_LEAVE_SHARE = 0.75
UPSET_LEAVE_MEAN_DAYS = 50.0
# How long an upset that does not end in leaving dampens activity.
UPSET_RECOVERY_DAYS = 120
# Activity while upset, as a share of the usual rate.
UPSET_RATE = {"purchase": 0.35, "session": 0.5, "email_open": 0.3, "ticket": 1.0}
# Share of online orders returned, usually and while upset.
RETURN_SHARE = 0.06
UPSET_RETURN_SHARE = 0.35
NEVER = np.iinfo(np.int64).max // 4


def month_index(seconds: np.ndarray) -> np.ndarray:
    return (
        np.asarray(seconds, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)
    ) % 12


@dataclass(frozen=True)
class Lives:
    """Per person: engagement, when they got upset (NEVER if not), when they leave (NEVER if
    not within the window), when their fade starts, and the end of their activity."""

    engagement: np.ndarray
    upset_at: np.ndarray
    leave_at: np.ndarray
    fade_start: np.ndarray
    fade_length: np.ndarray
    end_at: np.ndarray

    @property
    def churned(self) -> np.ndarray:
        return self.leave_at < NEVER


def draw_lives(
    profile_idx: np.ndarray,
    first_seen: np.ndarray,
    config: GeneratorConfig,
    rng: np.random.Generator,
) -> Lives:
    """Engagement and leaving of each person first seen at `first_seen` (epoch seconds)."""
    n = len(profile_idx)
    as_of = config.as_of_epoch
    day = SECONDS_PER_DAY
    engagement = rng.gamma(ENGAGEMENT_SHAPE, 1.0 / ENGAGEMENT_SHAPE, n)

    drift_years = rng.exponential(1.0 / DRIFT_HAZARD_PER_YEAR[profile_idx])
    drift_leave = first_seen + 30 * day + (drift_years * 365.25 * day).astype(np.int64)

    # upset moments fall over the person's life and half a year past as_of (not yet happened)
    upset = rng.random(n) < UPSET_SHARE
    window = np.maximum(as_of + 180 * day - first_seen, day)
    upset_at = first_seen + 14 * day + (window * rng.random(n)).astype(np.int64)
    upset_at = np.where(upset & (upset_at < as_of), upset_at, NEVER)
    upset_leaves = rng.random(n) < UPSET_LEAVE_SHARE
    upset_delay = rng.gamma(2.0, UPSET_LEAVE_MEAN_DAYS / 2.0, n) * day
    upset_leave = np.where(
        (upset_at < NEVER) & upset_leaves, upset_at + upset_delay.astype(np.int64), NEVER
    )

    leave_at = np.minimum(drift_leave, upset_leave)
    leave_at = np.where(leave_at < as_of, leave_at, NEVER)
    fade_days = rng.uniform(*FADE_DAYS, n)
    # the drift fade runs up to the drift leaving day, wherever that falls (also past as_of)
    fade_start = np.where(
        drift_leave <= upset_leave, drift_leave - (fade_days * day).astype(np.int64), NEVER
    )
    end_at = np.minimum(leave_at, as_of)
    return Lives(
        engagement=engagement,
        upset_at=upset_at,
        leave_at=leave_at,
        fade_start=np.where(fade_start < as_of, fade_start, NEVER),
        fade_length=(fade_days * day).astype(np.int64),
        end_at=end_at,
    )


def activity_multiplier(
    people: pd.DataFrame, owners: np.ndarray, times: np.ndarray, kind: str
) -> np.ndarray:
    """The share of a person's usual rate of `kind` activity at `times` (fade and upset)."""
    t = np.asarray(times, dtype=np.int64)
    fade_start = people["fade_start"].to_numpy()[owners]
    fade_length = np.maximum(people["fade_length"].to_numpy()[owners], 1)
    fading = (fade_start < NEVER) & (t >= fade_start)
    # visits and newsletters die down twice as fast as buying does
    speed = FADE_SPEED.get(kind, 1.0)
    progress = np.clip(speed * (t - np.minimum(fade_start, t)) / fade_length, 0.0, 1.0)
    multiplier = np.where(fading, 1.0 - (1.0 - FADE_FLOOR) * progress, 1.0)
    upset_at = people["upset_at"].to_numpy()[owners]
    recovered = upset_at + UPSET_RECOVERY_DAYS * SECONDS_PER_DAY
    leaves = people["leave_at"].to_numpy()[owners] < NEVER
    upset = (upset_at < NEVER) & (t >= upset_at) & (leaves | (t < recovered))
    return multiplier * np.where(upset, UPSET_RATE[kind], 1.0)


def thin(
    rng: np.random.Generator,
    people: pd.DataFrame,
    owners: np.ndarray,
    times: np.ndarray,
    kind: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each event with the probability its owner's multiplier gives at its time."""
    keep = rng.random(len(owners)) < activity_multiplier(people, owners, times, kind)
    return owners[keep], times[keep]


class SeasonalClock:
    """Maps epoch seconds to a clock that runs at each month's weight (mean 1 over a year)."""

    def __init__(self, start: int, end: int) -> None:
        days = np.arange(start - SECONDS_PER_DAY, end + 2 * SECONDS_PER_DAY, SECONDS_PER_DAY)
        weight = MONTH_WEIGHT[month_index(days)] / MONTH_WEIGHT.mean()
        self._real = days.astype(np.float64)
        self._clock = np.concatenate([[0.0], np.cumsum(weight[:-1]) * SECONDS_PER_DAY])

    def forward(self, seconds: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(seconds, dtype=np.float64), self._real, self._clock)

    def back(self, clock: np.ndarray) -> np.ndarray:
        return np.interp(clock, self._clock, self._real).astype(np.int64)


def purchase_occasions(
    people: pd.DataFrame,
    rate_per_year: np.ndarray,
    config: GeneratorConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(owner, epoch second) of each purchase occasion: a gamma renewal process per person.

    Gaps have mean 365.25 / rate days on the seasonal clock; the first one starts a random
    way into a gap (the person was already shopping somewhere). Fade and upset thin them.
    """
    clock = SeasonalClock(config.history_start_epoch, config.as_of_epoch)
    start = clock.forward(people["first_seen"].to_numpy())
    end = clock.forward(people["end_at"].to_numpy())
    rate = np.maximum(np.asarray(rate_per_year, dtype=np.float64), 1e-9)
    mean_gap = 365.25 * SECONDS_PER_DAY / rate
    expected = (end - start) / mean_gap
    draws = np.ceil(expected + 4.0 * np.sqrt(expected) + 3).astype(np.int64)
    draws = np.minimum(draws, 2000)
    owners = np.repeat(np.arange(len(people)), draws)
    gaps = rng.gamma(GAP_SHAPE, 1.0 / GAP_SHAPE, len(owners)) * mean_gap[owners]
    first = np.r_[0, np.cumsum(draws)[:-1]]
    gaps[first] *= rng.random(len(first))
    total = np.cumsum(gaps)
    offset = np.repeat(total[first] - gaps[first], draws)
    at = start[owners] + total - offset
    inside = at < end[owners]
    owners, times = owners[inside], clock.back(at[inside])
    return thin(rng, people, owners, times, "purchase")


def activity_times(
    rng: np.random.Generator,
    people: pd.DataFrame,
    rate_per_year: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    kind: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(owner, epoch second) of Poisson events at each person's rate, seasonal, then thinned
    by fade and upset. `rate_per_year`, `starts`, `ends` are per person (0 rate: none)."""
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    clock = SeasonalClock(int(np.min(starts)), int(np.max(ends)))
    start = clock.forward(starts)
    end = np.maximum(clock.forward(ends), start)
    years = (end - start) / (365.25 * SECONDS_PER_DAY)
    counts = rng.poisson(np.maximum(rate_per_year, 0) * years)
    owners = np.repeat(np.arange(len(counts)), counts)
    at = start[owners] + (end[owners] - start[owners]) * rng.random(len(owners))
    times = clock.back(at)
    order = np.lexsort((times, owners))
    return thin(rng, people, owners[order], times[order], kind)

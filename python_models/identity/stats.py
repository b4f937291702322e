"""What one matcher run did: sizes, timings and the trained model (for asset metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_models.identity.training import FellegiSunterModel


@dataclass
class LinkageStats:
    """What one run did: sizes, timings and the trained model (for asset metadata)."""

    records: int = 0
    candidate_pairs: int = 0
    # candidate pairs of records already known to be one person: trained on, not scored
    # (with a stride n > 1, blocking kept 1 in n of them and both counts are estimates)
    known_pairs: int = 0
    known_pair_stride: int = 1
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks_by_rule: dict[str, int] = field(default_factory=dict)
    auto_links: int = 0
    review_links: int = 0
    seconds_by_step: dict[str, float] = field(default_factory=dict)
    model: FellegiSunterModel | None = None
    # what the adaptive guards did: the household guard (on/off, why, pairs it dropped or
    # held back for review) and identifier values treated as shared, per identifier
    household_guard: dict = field(default_factory=dict)
    shared_identifiers: dict[str, int] = field(default_factory=dict)

    def guards(self) -> dict:
        """What the matcher's adaptive guards did (for the pipeline's run report)."""
        return {
            "household_guard": self.household_guard,
            "shared_identifiers": self.shared_identifiers,
        }

    def as_metadata(self) -> dict:
        return {
            "records": self.records,
            "candidate_pairs": self.candidate_pairs,
            "pairs_per_record": round(self.candidate_pairs / max(self.records, 1), 2),
            "known_pairs": self.known_pairs,
            "known_pair_stride": self.known_pair_stride,
            "pairs_by_rule": self.pairs_by_rule,
            "skipped_blocks_by_rule": self.skipped_blocks_by_rule,
            "auto_links": self.auto_links,
            "review_links": self.review_links,
            "seconds_by_step": {k: round(v, 2) for k, v in self.seconds_by_step.items()},
            "household_guard": self.household_guard,
            "shared_identifiers": self.shared_identifiers,
            "prior_match_probability": None if self.model is None else self.model.prior_probability,
        }

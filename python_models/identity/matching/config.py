"""Configuration of the probabilistic matcher: which input column plays which role, and the
few knobs (thresholds, block caps, normalisation rules) that shape linking.

Defaults are chosen to work without per-dataset tuning; they are the values the FEBRL and
synthetic benchmarks are run with.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the input columns that hold each person attribute (None = not available)."""

    record_id: str = "id"
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    postcode: str | None = None
    birth_date: str | None = None
    other_ids: list[str] = field(default_factory=list)
    country: str | None = None

    def roles(self) -> dict[str, str]:
        """Role -> column for every mapped attribute (other ids as `id_<column>`)."""
        single = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "email": self.email,
            "phone": self.phone,
            "street": self.street,
            "city": self.city,
            "postcode": self.postcode,
            "birth_date": self.birth_date,
            "country": self.country,
        }
        roles = {role: col for role, col in single.items() if col}
        for col in self.other_ids:
            roles[f"id_{col}"] = col
        return roles

    @classmethod
    def from_dict(cls, raw: dict) -> ColumnMapping:
        """Build from a parsed YAML/JSON mapping, rejecting unknown keys by name."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown mapping key(s) {unknown}; expected any of {sorted(known)}")
        data = dict(raw)
        data["other_ids"] = list(data.get("other_ids") or [])
        return cls(**data)


@dataclass(frozen=True)
class MatchConfig:
    """Knobs of blocking, scoring and decisions.

    Probabilities are posterior match probabilities of a candidate pair. Pairs at or above
    `auto_link_probability` are linked automatically; pairs between `review_probability` and
    that are queued for review; lower pairs are not returned.
    """

    auto_link_probability: float = 0.95
    # Below this a pair is not returned: on the sample, fuzzy pairs between 0.5 and 0.8 were
    # all non-matches, and a review queue of them only hides the pairs worth a look.
    review_probability: float = 0.8
    # A block (records sharing one blocking key) larger than this is skipped for that rule,
    # so candidate pairs grow linearly with records rather than quadratically.
    max_block_size: int = 50
    # Cap for the names-only blocking rule, whose blocks are large for common names; the
    # duplicates of a "John Smith" must then share some other key (email, phone, birth date).
    max_name_block_size: int = 10
    # An identifier value (email, phone, other id) held by more than this many distinct
    # names is a shared/generic identifier: it is never evidence on its own.
    shared_identifier_max_names: int = 3
    # Random record pairs drawn to estimate u-probabilities.
    u_sample_pairs: int = 200_000
    # Pseudo-counts that shrink u-probabilities and value frequencies towards generic values,
    # so a tiny input (a few dozen rows) does not take "2 of 6 records are called Anna" as the
    # truth about names; with real volumes the data outweighs them.
    u_prior_pairs: float = 2_000.0
    tf_prior_records: float = 100.0
    em_max_iterations: int = 50
    em_tolerance: float = 1e-6
    # Term-frequency adjustment: rare exact values may raise a field's weight by at most this
    # many bits above its average exact-match weight; common values lower it without limit.
    tf_max_boost_bits: float = 3.0
    # Email normalisation rules.
    strip_plus_addressing: bool = True
    gmail_remove_dots: bool = True
    # Calling code used to turn national phone numbers (leading 0) into E.164 when the
    # record's country is unknown; None keeps them as national digits.
    default_country_code: str | None = None
    # Interpret slash dates as day-first (DD/MM/YYYY) rather than month-first.
    day_first_dates: bool = True
    random_seed: int = 42

    def __post_init__(self) -> None:
        if not 0.0 < self.review_probability <= self.auto_link_probability < 1.0:
            raise ValueError(
                "need 0 < review_probability <= auto_link_probability < 1, got "
                f"{self.review_probability} and {self.auto_link_probability}"
            )
        if self.max_block_size < 2:
            raise ValueError(f"max_block_size must be >= 2, got {self.max_block_size}")

"""Configuration of a generator run: scale, seed, time frame and how messy records are.

Every knob that shapes the output lives here so a run is fully described by one object
(and the manifest records it), which is what makes the output reproducible byte for byte.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SECONDS_PER_DAY = 86_400
CHURN_HORIZON_DAYS = 90
HISTORY_YEARS = 4
WEB_HISTORY_DAYS = 730


@dataclass(frozen=True)
class MessinessConfig:
    """Probabilities of each kind of real-world mess, applied per record (or per field)."""

    typo_rate: float = 0.04  # per name field: 1-2 character edits
    nickname_rate: float = 0.12  # given name replaced by a nickname, where one exists
    swapped_names_rate: float = 0.01  # first and last name exchanged
    email_variant_rate: float = 0.15  # case change, gmail dots, plus-addressing, spaces
    second_email_rate: float = 0.15  # people with an older/work address used sometimes
    missing_field_rate: float = 0.06  # per optional field
    moved_rate: float = 0.12  # people who moved house during the history
    generic_email_rate: float = 0.003  # info@/test@ addresses shared by unrelated people
    duplicate_crm_rate: float = 0.04  # extra CRM contacts for the same person
    shared_device_rate: float = 0.25  # multi-person web households sharing one device
    offset_timestamp_rate: float = 0.05  # timestamps written with a +hh:mm offset


@dataclass(frozen=True)
class GeneratorConfig:
    """One generator run. `as_of` is 'now'; nothing happens after it (except invalid rows)."""

    customers: int
    seed: int = 42
    as_of: datetime = field(default_factory=lambda: datetime(2026, 11, 1, tzinfo=UTC))
    invalid_rate: float = 0.01
    chunk_size: int = 25_000
    messiness: MessinessConfig = field(default_factory=MessinessConfig)

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"--customers must be at least 1, got {self.customers}")
        if not 0.0 <= self.invalid_rate <= 0.5:
            raise ValueError(f"--invalid-rate must be within [0, 0.5], got {self.invalid_rate}")
        if self.chunk_size < 100:
            raise ValueError(f"--chunk-size must be at least 100, got {self.chunk_size}")
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (e.g. 2026-11-01T00:00:00Z)")

    @property
    def as_of_epoch(self) -> int:
        return int(self.as_of.timestamp())

    @property
    def churn_cutoff(self) -> datetime:
        return self.as_of - timedelta(days=CHURN_HORIZON_DAYS)

    @property
    def churn_cutoff_epoch(self) -> int:
        return int(self.churn_cutoff.timestamp())

    @property
    def history_start_epoch(self) -> int:
        return self.as_of_epoch - HISTORY_YEARS * 365 * SECONDS_PER_DAY

    @property
    def web_start_epoch(self) -> int:
        return self.as_of_epoch - WEB_HISTORY_DAYS * SECONDS_PER_DAY

    @property
    def file_date(self) -> str:
        return self.as_of.strftime("%Y-%m-%d")

    @property
    def n_chunks(self) -> int:
        return -(-self.customers // self.chunk_size)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
        return d


def parse_as_of(text: str) -> datetime:
    """Parse an ISO timestamp (a trailing Z or an offset); naive input is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"--as-of {text!r} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)

"""Which input column plays which role: the bring-your-own-data column mapping.

The matcher's knobs (thresholds, block caps, identifier rules) are in `config.MatchConfig`.
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

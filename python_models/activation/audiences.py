"""Parse and validate `audiences.yml`: which segments go to which email tool, with what.

A definition file looks like::

    version: 1
    audiences:
      - name: win_back
        description: Drifting valuable customers, for the win-back journey.
        owner: crm-team
        segments: [win_back_email]          # members of any (or `match: all`) of these
        destination: mailchimp              # mailchimp | klaviyo | braze
        fields: [first_name, last_name, rfm_segment, churn_risk_band, recommended_products]
        tags: [win-back]
        schedule: daily                     # hourly | daily | weekly | a cron string
        holdout:                            # optional A/B control group
          experiment: win_back_2026_11
          salt: win-back-2026-11
          control_share: 0.2
          outcome: conversion               # conversion | revenue
          window_days: 14
          analysis_date: 2026-11-20         # fixed analysis date: no peeking before it

Every problem found is reported at once, each naming the audience, the field and the
offending value, before anything runs, the same way `segments.yml` is validated.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from python_models.activation.destinations import DESTINATIONS, MERGE_FIELDS

# one wording for every YAML validation error: `<entry>: <field>: <message> (got <value>)`
from python_models.segments.definitions import named_entries

AUDIENCE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
CRON_PATTERN = re.compile(r"^(\S+\s+){4}\S+$")
SCHEDULES = {"hourly": "0 * * * *", "daily": "0 3 * * *", "weekly": "0 3 * * 1"}


class AudienceDefinitionError(ValueError):
    """One or more audience definitions are invalid; `problems` lists each readable line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"{source}: {len(problems)} problem(s) in audience definitions:\n{listing}"
        )


class Holdout(BaseModel):
    """An A/B control group: a share of the audience, chosen by hash, left out of the files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    experiment: str
    salt: str = Field(min_length=1)
    control_share: float = Field(gt=0.0, lt=1.0)
    outcome: Literal["conversion", "revenue"] = "conversion"
    window_days: int = Field(default=14, ge=1, le=365)
    pre_period_days: int = Field(default=90, ge=1, le=730)
    analysis_date: date

    @field_validator("experiment")
    @classmethod
    def _experiment_is_snake_case(cls, name: str) -> str:
        if not AUDIENCE_NAME_PATTERN.match(name):
            raise ValueError("must be lower snake_case, start with a letter, at most 48 characters")
        return name


class Audience(BaseModel):
    """One audience: members of segments, exported with merge fields to one destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    owner: str
    segments: tuple[str, ...] = Field(min_length=1)
    match: Literal["any", "all"] = "any"
    destination: str
    fields: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    schedule: str = "daily"
    holdout: Holdout | None = None

    @field_validator("name")
    @classmethod
    def _name_is_snake_case(cls, name: str) -> str:
        if not AUDIENCE_NAME_PATTERN.match(name):
            raise ValueError("must be lower snake_case, start with a letter, at most 48 characters")
        return name

    @field_validator("destination")
    @classmethod
    def _destination_is_known(cls, destination: str) -> str:
        if destination not in DESTINATIONS:
            raise ValueError(f"unknown destination; use one of {sorted(DESTINATIONS)}")
        return destination

    @field_validator("schedule")
    @classmethod
    def _schedule_is_known(cls, schedule: str) -> str:
        if schedule not in SCHEDULES and not CRON_PATTERN.match(schedule):
            raise ValueError(
                f"use one of {sorted(SCHEDULES)} or a five-field cron string like '0 3 * * *'"
            )
        return schedule

    @property
    def cron(self) -> str:
        return SCHEDULES.get(self.schedule, self.schedule)

    @property
    def table_name(self) -> str:
        return f"export_{self.name}"

    def definition_hash(self) -> str:
        """sha256 of the canonical definition: a manifest says exactly what produced it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _semantic_problems(
    audience: Audience, label: str, known_segments: set[str] | None
) -> list[str]:
    problems = []
    if known_segments is not None:
        for index, segment in enumerate(audience.segments):
            if segment not in known_segments:
                problems.append(
                    f"{label}: segments.{index}: unknown segment {segment!r}; known segments "
                    "are the rule segments of segments.yml, the RFM segments and the "
                    "lifecycle stages"
                )
    for index, field in enumerate(audience.fields):
        if field not in MERGE_FIELDS:
            problems.append(
                f"{label}: fields.{index}: unknown field {field!r}; "
                f"use any of {sorted(MERGE_FIELDS)}"
            )
    if len(set(audience.fields)) != len(audience.fields):
        problems.append(f"{label}: fields: a field is listed twice (got {list(audience.fields)!r})")
    limit = DESTINATIONS[audience.destination].tag_max_chars
    for index, tag in enumerate(audience.tags):
        if not tag.strip():
            problems.append(f"{label}: tags.{index}: a tag must not be blank (got {tag!r})")
        elif limit is not None and len(tag) > limit:
            problems.append(
                f"{label}: tags.{index}: {audience.destination} tags are at most {limit} "
                f"characters (got {tag!r}, {len(tag)})"
            )
    return problems


def parse_audiences(
    document: Any,
    source: str = "audiences.yml",
    known_segments: Iterable[str] | None = None,
) -> list[Audience]:
    """Validate a parsed YAML document; raise `AudienceDefinitionError` listing every fault.

    `known_segments`, when given, is every segment name an audience may use.
    """
    known = set(known_segments) if known_segments is not None else None
    problems: list[str] = []
    audiences: list[Audience] = []
    experiments: dict[str, str] = {}
    for label, audience in named_entries(
        document,
        kind="audience",
        plural="audiences",
        model=Audience,
        source=source,
        error=AudienceDefinitionError,
        problems=problems,
    ):
        if audience.holdout is not None:
            experiment = audience.holdout.experiment
            if experiment in experiments:
                problems.append(
                    f"{label}: holdout.experiment: experiment {experiment!r} is already used "
                    f"by audience {experiments[experiment]!r}; one experiment per audience"
                )
            experiments[experiment] = audience.name
        found = _semantic_problems(audience, label, known)
        problems.extend(found)
        if not found:
            audiences.append(audience)
    if problems:
        raise AudienceDefinitionError(source, problems)
    return audiences


def load_audiences(
    text: str, source: str = "audiences.yml", known_segments: Iterable[str] | None = None
) -> list[Audience]:
    """Parse YAML text (the content of `audiences.yml`) into validated audiences."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AudienceDefinitionError(source, [f"not valid YAML: {error}"]) from error
    return parse_audiences(document, source, known_segments)


LIFECYCLE_STAGES = ("Loyal Customer", "Active Buyer", "Lapsed", "Browser")


def known_segment_names(dbt_project_dir: Path) -> set[str]:
    """Every segment an audience may name: rule segments, RFM segments, lifecycle stages, by
    the snake_case names `segment_membership` gives them (at_risk, loyal_customer)."""
    from python_models.segments.catalog import segment_name
    from python_models.segments.definitions import load_segment_definitions

    segments_yml = dbt_project_dir / "segments" / "segments.yml"
    names = {d.name for d in load_segment_definitions(segments_yml.read_text(), str(segments_yml))}
    with (dbt_project_dir / "seeds" / "rfm_segment_map.csv").open(newline="") as handle:
        names |= {segment_name(row["segment_name"]) for row in csv.DictReader(handle)}
    with (dbt_project_dir / "seeds" / "rfm_unscored_segments.csv").open(newline="") as handle:
        # the never-purchased are the lifecycle stage browser, not an RFM segment member
        names |= {
            segment_name(row["segment_name"])
            for row in csv.DictReader(handle)
            if row["customer_state"] != "never_purchased"
        }
    return names | {segment_name(stage) for stage in LIFECYCLE_STAGES}


def load_audience_file(path: Path, dbt_project_dir: Path) -> list[Audience]:
    """Read and validate an audiences file against the project's segment catalogue."""
    if not path.is_file():
        raise AudienceDefinitionError(str(path), ["file not found"])
    return load_audiences(path.read_text(), str(path), known_segment_names(dbt_project_dir))

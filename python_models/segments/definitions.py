"""Parse and validate `segments.yml` into typed rule-segment definitions.

A definition file looks like::

    version: 1
    segments:
      - name: high_engagement
        description: More than 5 sessions in the last 7 days, averaging over 4 minutes.
        owner: growth-team
        rule:
          all:
            - {behaviour: sessions, window: 7d, op: ">", value: 5}
            - {behaviour: avg_session_minutes, window: 7d, op: ">", value: 4}

A rule is a trait condition (`trait`, `op`, `value`), a behaviour condition (`behaviour`,
`window`, `op`, `value`, and `event` for `event_count`) or a combinator: `all: [...]`,
`any: [...]`, `not: {...}`. Every problem found is reported at once, each naming the segment,
the field path inside it and the offending value, so an analyst can fix the file in one pass.
"""

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from python_models.segments.catalog import (
    BEHAVIOUR_OPERATORS,
    BEHAVIOURS,
    EVENT_NAMES,
    OPERATORS_BY_TYPE,
    TRAITS,
    ValueType,
)

SEGMENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,58}$")
WINDOW_PATTERN = re.compile(r"^(\d+)\s*([hd])$")
WINDOW_UNITS = {"h": "hour", "d": "day"}
# Windows longer than this are almost certainly typos (e.g. 7000d for 7d).
MAX_WINDOW_DAYS = 3660


class SegmentDefinitionError(ValueError):
    """One or more definitions are invalid; `problems` lists each as a readable line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in segment definitions:\n{listing}")


class Window(BaseModel):
    """A trailing window ending at `as_of`, e.g. `24h` or `7d`."""

    model_config = ConfigDict(frozen=True)

    amount: int
    unit: Literal["hour", "day"]
    text: str


class TraitCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["trait"] = "trait"
    trait: str
    op: str
    value: Any = None


class BehaviourCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["behaviour"] = "behaviour"
    behaviour: str
    window: Window
    op: str
    value: Any
    event: str | None = None


class AllCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["all"] = "all"
    conditions: tuple["Condition", ...]


class AnyCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["any"] = "any"
    conditions: tuple["Condition", ...]


class NotCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["not"] = "not"
    condition: "Condition"


Condition = Annotated[
    TraitCondition | BehaviourCondition | AllCondition | AnyCondition | NotCondition,
    Field(discriminator="kind"),
]


class SegmentDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    owner: str
    tags: tuple[str, ...] = ()
    rule: Condition


class _SegmentHeader(BaseModel):
    """The shape of one entry before its rule is parsed (pydantic checks types and keys)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    tags: list[str] = []
    rule: dict[str, Any]

    @field_validator("name")
    @classmethod
    def _name_is_snake_case(cls, name: str) -> str:
        if not SEGMENT_NAME_PATTERN.match(name):
            raise ValueError("must be lower snake_case, start with a letter, at most 59 characters")
        return name


def parse_window(text: Any) -> Window:
    """`24h` -> 24 hours, `7d` -> 7 days; anything else is an error naming the value."""
    match = WINDOW_PATTERN.match(str(text).strip()) if isinstance(text, str | int) else None
    if match is None or isinstance(text, int):
        raise ValueError(f"{text!r} is not a window; write <number>h or <number>d, e.g. 24h or 7d")
    amount, unit = int(match.group(1)), WINDOW_UNITS[match.group(2)]
    days = amount / 24 if unit == "hour" else amount
    if amount <= 0 or days > MAX_WINDOW_DAYS:
        raise ValueError(f"{text!r} must be longer than 0 and at most {MAX_WINDOW_DAYS} days")
    return Window(amount=amount, unit=unit, text=f"{amount}{match.group(2)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_problem(op: str, value: Any, value_type: ValueType) -> str | None:
    """Why `value` does not suit `op` on a `value_type` column, or None when it does."""
    matches_type = {
        ValueType.NUMBER: _is_number,
        ValueType.STRING: lambda item: isinstance(item, str),
        ValueType.BOOLEAN: lambda item: isinstance(item, bool),
    }[value_type]
    if op in {"is_null", "is_not_null"}:
        return None if value is None else f"operator {op!r} takes no value, got {value!r}"
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(map(matches_type, value))):
            return f"'between' needs a list of two {value_type} values [low, high], got {value!r}"
        if value[0] > value[1]:
            return f"'between' needs low <= high, got {value!r}"
        return None
    if op in {"in", "not_in"}:
        if not (isinstance(value, list) and value and all(map(matches_type, value))):
            return f"{op!r} needs a non-empty list of {value_type} values, got {value!r}"
        return None
    if not matches_type(value):
        return f"{op!r} needs a {value_type} value, got {value!r}"
    return None


def _parse_condition(raw: Any, path: str, problems: list[str]) -> Condition | None:
    """Parse one rule node, appending `path: message` problems; None when it is invalid."""
    if not isinstance(raw, dict):
        problems.append(
            f"{path}: expected a mapping (trait, behaviour, all, any or not), got {raw!r}"
        )
        return None
    combinators = [key for key in ("all", "any", "not") if key in raw]
    if combinators:
        if len(raw) != 1:
            problems.append(
                f"{path}: {combinators[0]!r} must be alone in its mapping, "
                f"found also {sorted(set(raw) - {combinators[0]})}"
            )
            return None
        key = combinators[0]
        if key == "not":
            inner = _parse_condition(raw["not"], f"{path}.not", problems)
            return None if inner is None else NotCondition(condition=inner)
        children = raw[key]
        if not isinstance(children, list) or not children:
            problems.append(
                f"{path}.{key}: expected a non-empty list of conditions, got {children!r}"
            )
            return None
        parsed = [
            _parse_condition(child, f"{path}.{key}[{index}]", problems)
            for index, child in enumerate(children)
        ]
        if any(child is None for child in parsed):
            return None
        model = AllCondition if key == "all" else AnyCondition
        return model(conditions=tuple(parsed))
    if "trait" in raw:
        return _parse_trait(raw, path, problems)
    if "behaviour" in raw or "behavior" in raw:
        return _parse_behaviour(raw, path, problems)
    problems.append(
        f"{path}: a condition needs one of the keys trait, behaviour, all, any, not; "
        f"got keys {sorted(raw)}"
    )
    return None


def _unexpected_keys(raw: dict[str, Any], allowed: set[str], path: str) -> list[str]:
    return [
        f"{path}.{key}: unknown field (allowed: {', '.join(sorted(allowed))})"
        for key in sorted(set(raw) - allowed)
    ]


def _parse_trait(raw: dict[str, Any], path: str, problems: list[str]) -> TraitCondition | None:
    found = _unexpected_keys(raw, {"trait", "op", "value"}, path)
    trait_name, op, value = raw.get("trait"), raw.get("op"), raw.get("value")
    trait = TRAITS.get(trait_name) if isinstance(trait_name, str) else None
    if trait is None:
        found.append(
            f"{path}.trait: unknown trait {trait_name!r}; known traits: {', '.join(sorted(TRAITS))}"
        )
    elif op not in OPERATORS_BY_TYPE[trait.value_type]:
        allowed = ", ".join(sorted(OPERATORS_BY_TYPE[trait.value_type]))
        found.append(
            f"{path}.op: operator {op!r} does not apply to {trait.value_type} trait "
            f"{trait_name!r}; use one of {allowed}"
        )
    elif problem := _value_problem(op, value, trait.value_type):
        found.append(f"{path}.value: {problem}")
    problems.extend(found)
    return None if found else TraitCondition(trait=trait_name, op=op, value=value)


def _parse_behaviour(
    raw: dict[str, Any], path: str, problems: list[str]
) -> BehaviourCondition | None:
    if "behavior" in raw:  # American spelling accepted: analysts write both.
        raw = {("behaviour" if key == "behavior" else key): item for key, item in raw.items()}
    found = _unexpected_keys(raw, {"behaviour", "window", "op", "value", "event"}, path)
    name, op, value, event = raw.get("behaviour"), raw.get("op"), raw.get("value"), raw.get("event")
    behaviour = BEHAVIOURS.get(name) if isinstance(name, str) else None
    window = None
    if behaviour is None:
        found.append(
            f"{path}.behaviour: unknown behaviour {name!r}; "
            f"known behaviours: {', '.join(sorted(BEHAVIOURS))}"
        )
    if "window" not in raw:
        found.append(f"{path}.window: missing; every behaviour needs a window such as 24h or 7d")
    else:
        try:
            window = parse_window(raw["window"])
        except ValueError as error:
            found.append(f"{path}.window: {error}")
    if op not in BEHAVIOUR_OPERATORS:
        found.append(
            f"{path}.op: operator {op!r} does not apply to behaviour {name!r}; "
            f"use one of {', '.join(sorted(BEHAVIOUR_OPERATORS))}"
        )
    elif problem := _value_problem(op, value, ValueType.NUMBER):
        found.append(f"{path}.value: {problem}")
    if behaviour is not None and behaviour.needs_event:
        if event not in EVENT_NAMES:
            found.append(
                f"{path}.event: {event!r} is not an event name; "
                f"use one of {', '.join(sorted(EVENT_NAMES))}"
            )
    elif behaviour is not None and event is not None:
        found.append(f"{path}.event: behaviour {name!r} takes no event, got {event!r}")
    problems.extend(found)
    if found or window is None:
        return None
    return BehaviourCondition(behaviour=name, window=window, op=op, value=value, event=event)


def _format_pydantic_error(prefix: str, error: ValidationError) -> list[str]:
    lines = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"]) or "(entry)"
        given = detail.get("input")
        shown = "" if detail["type"] == "missing" else f" (got {given!r})"
        lines.append(f"{prefix}: {field}: {detail['msg']}{shown}")
    return lines


_Entry = TypeVar("_Entry", bound=BaseModel)


def named_entries(
    document: Any,
    *,
    kind: str,
    plural: str,
    model: type[_Entry],
    source: str,
    error: type[Exception],
    problems: list[str],
) -> Iterator[tuple[str, _Entry]]:
    """Each entry of a declarations file's `plural` list, validated by `model`, with its label.

    The one reading of a file of named YAML entries (segments, audiences): a top level that is
    not a mapping with the list raises `error(source, [...])`; a wrong version, an entry that is
    not a mapping, a field pydantic refuses and a repeated name go to `problems`, naming the
    entry, and that entry is skipped.
    """
    if not isinstance(document, dict) or plural not in document:
        article = "an" if plural[0] in "aeiou" else "a"
        raise error(source, [f"top level: expected a mapping with {article} '{plural}' list"])
    if document.get("version", 1) != 1:
        problems.append(f"version: only version 1 is understood, got {document.get('version')!r}")
    entries = document[plural]
    if not isinstance(entries, list):
        raise error(source, [f"{plural}: expected a list, got {entries!r}"])
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        label = (
            f"{kind} {entry['name']!r}"
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
            else f"{plural}[{index}]"
        )
        if not isinstance(entry, dict):
            problems.append(f"{label}: expected a mapping, got {entry!r}")
            continue
        try:
            validated = model.model_validate(entry)
        except ValidationError as failure:
            problems.extend(_format_pydantic_error(label, failure))
            continue
        name = validated.name  # type: ignore[attr-defined]
        if name in first_seen:
            problems.append(
                f"{label}: name: duplicate {kind} name {name!r} "
                f"({plural}[{first_seen[name]}] and {plural}[{index}])"
            )
            continue
        first_seen[name] = index
        yield label, validated


def parse_segment_definitions(
    document: Any, source: str = "segments.yml"
) -> list[SegmentDefinition]:
    """Validate a parsed YAML document; raise `SegmentDefinitionError` listing every fault."""
    problems: list[str] = []
    definitions: list[SegmentDefinition] = []
    for label, header in named_entries(
        document,
        kind="segment",
        plural="segments",
        model=_SegmentHeader,
        source=source,
        error=SegmentDefinitionError,
        problems=problems,
    ):
        rule = _parse_condition(header.rule, f"{label}: rule", problems)
        if rule is not None:
            definitions.append(
                SegmentDefinition(
                    name=header.name,
                    description=header.description.strip(),
                    owner=header.owner,
                    tags=tuple(header.tags),
                    rule=rule,
                )
            )
    if problems:
        raise SegmentDefinitionError(source, problems)
    return definitions


def load_segment_definitions(text: str, source: str = "segments.yml") -> list[SegmentDefinition]:
    """Parse YAML text (the content of `segments.yml`) into validated definitions."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SegmentDefinitionError(source, [f"not valid YAML: {error}"]) from error
    return parse_segment_definitions(document, source)

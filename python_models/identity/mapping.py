"""Which input column plays which role: the bring-your-own-data column mapping.

A mapping names, for each person attribute (a *role*), the input column that holds it, or
for the name and address roles several columns that are joined with a space (street =
`street_number` + `address_1`; given name = first + middle). Two list roles hold ids:
`person_ids` (a passport, a national id: one person each) and `shared_ids` (a household
account, a company number: evidence, but possibly several people's). A `source` role names
the column saying which system a record came from; with `link_type: link_only` records of
one source are never linked to each other.

`parse_mapping` reads the YAML text of a mapping file (format: docs/identity-mapping.md,
example: docs/examples/identity-mapping.yml) and raises `MappingError` with a message that
names the role and the column. The matcher's knobs live in `config.MatchConfig`; a mapping
file may set them under `config:`.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError

from python_models.identity.config import MatchConfig

# Roles one column fills; of these, the name and address roles may join several columns.
SINGLE_ROLES: tuple[str, ...] = (
    "record_id", "source", "given_name", "family_name", "email", "phone", "street", "city",
    "postcode", "birth_date", "country",
)  # fmt: skip
COMPOSITE_ROLES: frozenset[str] = frozenset({"given_name", "family_name", "street", "city"})
LIST_ROLES: tuple[str, ...] = ("person_ids", "shared_ids")
ROLE_HELP: dict[str, str] = {
    "record_id": "the column that identifies each record (required, unique)",
    "source": "which system a record came from (needed for link_type: link_only)",
    "given_name": "first name; a list joins several columns (first, middle)",
    "family_name": "surname; a list joins several columns",
    "email": "email address",
    "phone": "phone number",
    "street": "street line; a list joins several columns (street_number, address_1)",
    "city": "city, town or suburb; a list joins several columns",
    "postcode": "postcode / ZIP",
    "birth_date": "date of birth (ISO, YYYYMMDD or DD/MM/YYYY)",
    "country": "country (ISO code), used to read national phone numbers",
    "person_ids": "list of id columns that identify one person (national id, passport)",
    "shared_ids": "list of id columns several people may share (household, company)",
}


# The example of docs/examples/identity-mapping.yml (a test keeps the two equal), shown by
# `customer360 identity resolve --help`.
EXAMPLE_MAPPING = """\
# Column mapping for `customer360 identity resolve` (format: docs/identity-mapping.md).
# Each role names the input column that holds it; leave out what your file does not have.
record_id: rec_id                  # required: one unique id per record
given_name: [given_name, middle]   # a list joins columns with a space
family_name: surname
street: [street_number, address_1]
city: suburb
postcode: postcode
birth_date: date_of_birth          # ISO, YYYYMMDD or DD/MM/YYYY
email: email
phone: phone
country: country                   # ISO code; reads national phone numbers
person_ids: [soc_sec_id]           # ids that identify one person
shared_ids: [household_account]    # ids several people may share
# source: system                   # which system a record came from
# link_type: link_only             # with source: never link records of one source
config:                            # optional: any MatchConfig setting
  auto_link_probability: 0.95
  review_probability: 0.8
"""


class MappingError(ValueError):
    """A mapping that cannot be used, with a message that says what to change."""


Columns = str | tuple[str, ...] | None


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the input columns that hold each person attribute (None = not available).

    The name and address roles take a tuple of columns to join with a space."""

    record_id: str = "id"
    given_name: Columns = None
    family_name: Columns = None
    email: str | None = None
    phone: str | None = None
    street: Columns = None
    city: Columns = None
    postcode: str | None = None
    birth_date: str | None = None
    person_ids: tuple[str, ...] = field(default_factory=tuple)
    shared_ids: tuple[str, ...] = field(default_factory=tuple)
    country: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        # lists are accepted for convenience; stored as tuples so the mapping stays hashable
        for role in (*COMPOSITE_ROLES, *LIST_ROLES):
            value = getattr(self, role)
            if isinstance(value, list):
                object.__setattr__(self, role, tuple(value))

    def columns(self) -> dict[str, tuple[str, ...]]:
        """Role -> the input columns it reads, for every mapped role (ids one per column:
        `person_id:<column>`, `shared_id:<column>`)."""
        roles: dict[str, tuple[str, ...]] = {}
        for role in SINGLE_ROLES:
            value = getattr(self, role)
            if value:
                roles[role] = (value,) if isinstance(value, str) else tuple(value)
        for kind, ids in (("person_id", self.person_ids), ("shared_id", self.shared_ids)):
            for column in ids:
                roles[f"{kind}:{column}"] = (column,)
        return roles

    def id_columns(self) -> list[tuple[str, str, bool]]:
        """(internal column, input column, identifies one person) per mapped id."""
        return [(f"person_id_{i}", c, True) for i, c in enumerate(self.person_ids)] + [
            (f"shared_id_{i}", c, False) for i, c in enumerate(self.shared_ids)
        ]


def _column_name(role: str, value: object, where: str) -> str:
    """One column name, or a MappingError that says what was given instead."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, bool) or value is None:
        raise MappingError(f"{where}: role {role!r} needs a column name, got {value!r}")
    if isinstance(value, int | float):
        raise MappingError(
            f"{where}: role {role!r} needs a column name, got the number {value!r}; "
            f'if the column is really called {value}, quote it: {role}: "{value}"'
        )
    raise MappingError(
        f"{where}: role {role!r} needs a column name, got {type(value).__name__} {value!r}"
    )


def _single(role: str, value: object, where: str) -> Columns:
    if isinstance(value, list):
        if role not in COMPOSITE_ROLES:
            raise MappingError(
                f"{where}: role {role!r} takes one column, got a list {value}; only "
                f"{', '.join(sorted(COMPOSITE_ROLES))} may join several columns"
            )
        if not value:
            raise MappingError(f"{where}: role {role!r} has an empty list of columns")
        names = tuple(_column_name(role, v, where) for v in value)
        return names[0] if len(names) == 1 else names
    return _column_name(role, value, where)


def _id_list(role: str, value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        raise MappingError(
            f"{where}: role {role!r} takes a list of columns, got the single name {value!r}; "
            f"write {role}: [{value}]"
        )
    if not isinstance(value, list):
        raise MappingError(
            f"{where}: role {role!r} takes a list of columns, got {type(value).__name__} {value!r}"
        )
    return tuple(_column_name(role, v, where) for v in value)


def _config_value_error(name: str, value: object, where: str) -> MappingError | None:
    """A quoted number or yes/no where config expects a number or a boolean."""
    annotation = MatchConfig.model_fields[name].annotation
    expected = {int: "a whole number", float: "a number", bool: "true or false"}.get(annotation)
    if expected is None or not isinstance(value, str):
        return None
    return MappingError(
        f"{where}: config {name!r} needs {expected}, got the text {value!r}; "
        "write it without quotes"
    )


def parse_config(raw: object, where: str) -> MatchConfig:
    """`MatchConfig` from a mapping file's `config:` section, every error by field name."""
    if raw is None:
        return MatchConfig()
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: 'config' must be a section of settings, got {raw!r}")
    known = set(MatchConfig.model_fields)
    unknown = sorted(set(map(str, raw)) - known)
    if unknown:
        raise MappingError(f"{where}: unknown config setting(s) {unknown}; known: {sorted(known)}")
    for name, value in raw.items():
        error = _config_value_error(name, value, where)
        if error:
            raise error
    try:
        return MatchConfig(**raw)
    except ValidationError as err:
        problems = "; ".join(
            " ".join(["config", *(repr(str(x)) for x in e["loc"])])
            + ": "
            + e["msg"].removeprefix("Value error, ")
            for e in err.errors()
        )
        raise MappingError(f"{where}: {problems}") from None


def parse_mapping(text: str, where: str = "mapping") -> tuple[ColumnMapping, MatchConfig]:
    """Mapping and matcher settings from the YAML text of a mapping file.

    `where` names the file in messages. Raises `MappingError` for invalid YAML, unknown
    roles, a list where one column is expected (or a bare name where a list is), a number
    where a column name is expected, a quoted number in `config`, and a missing
    `record_id`."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise MappingError(f"{where}: not valid YAML{at}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise MappingError(
            f"{where}: expected roles as `role: column` lines, got {type(raw).__name__}"
        )
    raw = dict(raw)
    config = parse_config(raw.pop("config", None), where)
    link_type = raw.pop("link_type", None)
    if link_type is not None:
        config = _with_link_type(config, link_type, where)
    allowed = set(SINGLE_ROLES) | set(LIST_ROLES)
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        raise MappingError(
            f"{where}: unknown role(s) {unknown}; roles are: "
            + ", ".join([*SINGLE_ROLES, *LIST_ROLES])
            + ", plus link_type and config"
        )
    if raw.get("record_id") is None:
        raise MappingError(
            f"{where}: no record_id: name the column that identifies each record, "
            "e.g. `record_id: customer_id`"
        )
    values: dict[str, typing.Any] = {}
    for role, value in raw.items():
        if role in LIST_ROLES:
            values[role] = _id_list(role, value, where)
        elif value is not None:
            values[role] = _single(role, value, where)
    mapping = ColumnMapping(**values)
    check_mapping(mapping, config, where)
    return mapping, config


def _with_link_type(config: MatchConfig, link_type: object, where: str) -> MatchConfig:
    choices = typing.get_args(MatchConfig.model_fields["link_type"].annotation)
    if link_type not in choices:
        raise MappingError(f"{where}: link_type must be one of {list(choices)}, got {link_type!r}")
    return config.model_copy(update={"link_type": link_type})


def check_mapping(mapping: ColumnMapping, config: MatchConfig, where: str = "mapping") -> None:
    """What a mapping needs whatever the data: something to compare, a source for link-only
    mode, and no column in two roles."""
    roles = mapping.columns()
    if len(roles) <= 1 + ("source" in roles):
        raise MappingError(
            f"{where}: maps no attribute to compare; map at least one of "
            + ", ".join(r for r in [*SINGLE_ROLES, *LIST_ROLES] if r not in ("record_id", "source"))
        )
    if config.link_type == "link_only" and not mapping.source:
        raise MappingError(
            f"{where}: link_type link_only needs a source role: the column saying which "
            "system each record came from"
        )
    seen: dict[str, str] = {}
    for role, columns in roles.items():
        for column in columns:
            if column in seen:
                raise MappingError(
                    f"{where}: column {column!r} is mapped twice, to {seen[column]} and {role}"
                )
            seen.setdefault(column, role)


def missing_columns(mapping: ColumnMapping, available: set[str]) -> list[tuple[str, str]]:
    """(role, column) for every mapped column the input lacks."""
    return [
        (role, column)
        for role, columns in mapping.columns().items()
        for column in columns
        if column not in available
    ]

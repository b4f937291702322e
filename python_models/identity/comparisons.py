"""Comparison levels and blocking rules, expressed as DuckDB SQL over normalised records.

A comparison turns one attribute of a record pair into a level (0 = closest agreement, then
weaker agreements, last = disagreement; -1 when either side is missing). The levels are
plain SQL `CASE` expressions over the aliases `l` and `r`, so DuckDB computes them for
millions of pairs with its built-in `jaro_winkler_similarity`, `hamming`, `levenshtein`
and `damerau_levenshtein`.

This module only builds SQL text and small descriptions; it runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from python_models.identity.mapping import ColumnMapping

NULL_LEVEL = -1
# The one rule on names alone: common names make big blocks, so it gets its own, smaller cap.
NAME_ONLY_RULE = "name_phonetic_pair"
# Blocking columns that hold a list of keys per record (unnested by the blocking step).
LIST_KEY_COLUMNS = frozenset({"name_phonetics"})


@dataclass(frozen=True)
class Level:
    label: str
    condition: str  # SQL over l.<col>, r.<col>; evaluated in order, first true wins


@dataclass(frozen=True)
class Comparison:
    """One attribute's comparison: the columns it needs and its ordered levels."""

    name: str
    column: str  # normalised column; its exact level can be term-frequency adjusted
    levels: tuple[Level, ...]  # closest first; an implicit "else" level follows
    is_identifier: bool = False  # shared values are never evidence (over-merge guard)
    # Personal attributes tell two people of one household apart (given name, birth date,
    # email, personal ids); family name, address and phone are often shared by a household.
    personal: bool = False
    # Chains of level labels (closest first) whose weights may not rise along the chain:
    # at one postcode, a street that differs more is never more evidence of a match.
    weight_chains: tuple[tuple[str, ...], ...] = ()
    # A joint comparison's single-field parts (trained by EM as independent comparisons;
    # see `training.train_model`) and its level per flat index of their levels (`joint_index`).
    parts: tuple[Comparison, ...] = ()
    joint_table: tuple[int, ...] = ()

    @property
    def else_level(self) -> int:
        return len(self.levels)

    @property
    def labels(self) -> list[str]:
        return [level.label for level in self.levels] + ["else"]

    def chain_indices(self) -> list[list[int]]:
        """`weight_chains` as level numbers, levels this comparison lacks left out."""
        position = {label: i for i, label in enumerate(self.labels)}
        return [[position[x] for x in chain if x in position] for chain in self.weight_chains]

    def level_from_parts_sql(self) -> str:
        """SQL: a joint comparison's level from its parts' level columns `g_<column>`."""
        return self._joint_lookup_sql({p.name: f"g_{p.column}" for p in self.parts})

    def _joint_lookup_sql(self, part_levels: dict[str, str]) -> str:
        # the lookup table indexed by the parts' levels (SQL lists are 1-based)
        index = joint_index(*(part_levels.get(name, "-1") for name in ADDRESS_PARTS))
        return f"[{', '.join(str(n) for n in self.joint_table)}][{index} + 1]"

    def level_sql(self) -> str:
        """SQL for the pair's level over `l.`/`r.` columns (-1 when either side is null); a
        joint comparison's level is looked up from its parts' levels."""
        if self.parts:
            return self._joint_lookup_sql({p.name: p.level_sql() for p in self.parts})
        col = self.column
        whens = "\n".join(
            f"    when {level.condition} then {i}" for i, level in enumerate(self.levels)
        )
        return (
            f"case when l.{col} is null or r.{col} is null then {NULL_LEVEL}\n"
            f"{whens}\n    else {len(self.levels)} end"
        )


def _jw(col: str, threshold: float) -> str:
    return f"jaro_winkler_similarity(l.{col}, r.{col}) >= {threshold}"


def _edits(col: str, min_length: int = 1, guard: float = 0.9) -> str:
    """At most one edit (substitution, insertion, deletion or adjacent transposition).

    DuckDB's damerau_levenshtein costs ~10 µs a pair, so cheap tests decide first: equal
    lengths need hamming <= 1 (a substitution), or hamming 2 confirmed as a transposition;
    lengths one apart need levenshtein <= 1. A Jaro-Winkler gate (one edit keeps JW >= 0.9
    for 7+ characters, >= 0.8 for 4+) skips the rest for clearly different values. CASE,
    unlike AND/OR, evaluates a branch only for the rows that reach it.
    """
    left, right = f"l.{col}", f"r.{col}"
    return (
        f"(case when length({left}) < {min_length}"
        f" or abs(length({left}) - length({right})) > 1"
        f" or jaro_winkler_similarity({left}, {right}) < {guard} then false"
        f" when length({left}) = length({right}) then"
        f" (case when hamming({left}, {right}) <= 1 then true"
        f" when hamming({left}, {right}) = 2"
        f" then damerau_levenshtein({left}, {right}) <= 1 else false end)"
        f" else levenshtein({left}, {right}) <= 1 end)"
    )


def _token_overlap(threshold: float) -> str:
    """Overlap coefficient of street word sets (precomputed per record) at least
    `threshold`: tolerant of missing or extra tokens ("flat 2 12 high street" vs "12 high
    street") where character similarity is not.

    `list_intersect` builds a hash set per pair (at 1M customers 7-9 of the comparisons'
    26 CPU s), so cheap list tests decide first: sets without a common word overlap 0, and
    an overlap of 1 is one set inside the other."""
    left, right = "l.street_tokens", "r.street_tokens"
    if threshold >= 1.0:
        overlap = f"(list_has_all({left}, {right}) or list_has_all({right}, {left}))"
    else:
        overlap = (
            f"len(list_intersect({left}, {right}))::double"
            f" / least(len({left}), len({right})) >= {threshold}"
        )
    return f"(case when not list_has_any({left}, {right}) then false else {overlap} end)"


def street_numbers_sql(street: str) -> str:
    """SQL: the house-number tokens of a normalised street ('12', '4b'), as a list."""
    return (
        f"list_distinct(list_filter(string_split({street}, ' '),"
        " lambda t: regexp_full_match(t, '[0-9]+[a-z]?')))"
    )


def _same_house_number_possible() -> str:
    # Two addresses on one street with different house numbers are different addresses
    # (neighbours, or namesakes across town): such a pair must not reach a "close" street
    # level. Passes when either side has no number.
    return (
        "(len(l.street_numbers) = 0 or len(r.street_numbers) = 0"
        " or list_has_any(l.street_numbers, r.street_numbers))"
    )


def _either(cheap: str, costly: str) -> str:
    # CASE, not OR, so the costly test runs only where the cheap one failed.
    return f"(case when {cheap} then true else {costly} end)"


def _both(cheap: str, costly: str) -> str:
    # CASE, not AND, so the costly test runs only where the cheap one passed.
    return f"(case when {cheap} then {costly} else false end)"


# Both fields are compared as given names (`family_canonical`: the family field with a
# nickname mapped as in the given field), so "steinert jack" / "jack steinert" (jack -> john
# in the given field) is a swap too.
SWAPPED_NAMES = "l.given = r.family_canonical and l.family_canonical = r.given"


def _swapped_names_with_typo() -> str:
    """Given and family name entered the wrong way round, with a typo on top: each crossed
    pair at least close (Jaro-Winkler >= 0.80) and one of them exact, or both very close
    (>= 0.92). 'whtie brandon' / 'brandon white'; 'desllva jasper' / 'jaspe desilva'."""
    # coalesce: a side without one of the names cannot have them swapped
    given_vs_family = "coalesce(jaro_winkler_similarity(l.given, r.family_canonical), 0)"
    family_vs_given = "coalesce(jaro_winkler_similarity(l.family_canonical, r.given), 0)"
    return (
        f"(case when {given_vs_family} < 0.80 or {family_vs_given} < 0.80 then false"
        " when l.given = r.family_canonical or l.family_canonical = r.given then true"
        f" else least({given_vs_family}, {family_vs_given}) >= 0.92 end)"
    )


# Joint address comparison. Street, city and postcode are not independent: a postcode
# implies its city, and two people of one name in one postcode on different streets are two
# people. Scored as three comparisons, a postcode match (+12..15 bits) and its implied city
# (+5) outweighed a street that clearly differs (-2), and such namesakes auto-linked. One
# comparison whose levels are *joint* outcomes gives, say, "same postcode, other street" its
# own m and u. Its level comes from the three single-field sub-levels below (each computed
# once per pair, with the cheap-first gating) through a lookup table built by
# `address_level_label`; EM trains the sub-levels, the joint m follow (`training._joint_model`).
STREET_EXACT, STREET_VERY_CLOSE, STREET_CLOSE = 0, 1, 2
POSTCODE_EXACT, POSTCODE_ONE_EDIT = 0, 1  # then same district (2), else (3)
CITY_EXACT, CITY_CLOSE = 0, 1  # then else (2)
# Joint levels, closest first; a mapping gets those its columns can reach, then "else".
ADDRESS_LEVELS = (
    "exact",  # street and postcode (or the parts of `address_key_parts`) equal
    "street_typo",  # street very close, postcode equal
    "street_close_same_postcode",  # street close (shared words/number), postcode equal
    "postcode_typo",  # street equal or very close, postcode one edit apart
    "street_no_postcode",  # street equal or very close, no postcode to compare, city agrees
    "postcode_no_street",  # postcode equal, a side has no street
    "street_close_same_city",  # street close, same city, no postcode to compare
    "same_street_elsewhere",  # street equal or very close, postcode or city differs
    "same_postcode_other_street",  # postcode equal, street clearly differs
    "postcode_typo_same_city",  # postcode one edit apart, city equal, street differs/missing
    "postcode_one_edit",  # postcode one edit apart, street differs or missing
    "same_city",  # city equal, nothing closer
    "city_close",  # only cities to compare, and they are close
)
# The joint m come from the candidate pairs the model holds to be matches, and those hold
# many namesakes of one postcode (blocking pairs them on purpose): on the 100k bench 13% of
# "matches" sat at "same postcode, other street" (truth: 0.01%), worth +9 bits. The street
# getting worse at one postcode (or the postcode at one street) must not make a pair more
# likely to match, so scoring caps each level's weight at the weight of the level before it
# in these chains.
ADDRESS_CHAINS = (
    ("exact", "street_typo", "street_close_same_postcode", "same_postcode_other_street"),
    ("exact", "postcode_typo", "same_street_elsewhere"),
)
ADDRESS_PARTS = ("street", "postcode", "city")


LevelsOrSql = TypeVar("LevelsOrSql", int, np.ndarray, str)


def joint_index(street: LevelsOrSql, postcode: LevelsOrSql, city: LevelsOrSql) -> LevelsOrSql:
    """Flat index (0..99) of a street/postcode/city sub-level triple, each -1 (missing) up
    to 3 (street, postcode) or 2 (city): works on ints, numpy arrays and SQL expressions."""
    if isinstance(street, str):
        return f"(({street}) + 1) * 20 + (({postcode}) + 1) * 4 + ({city}) + 1"
    return (street + 1) * 20 + (postcode + 1) * 4 + city + 1


_SUB_LEVELS = {"street": range(-1, 4), "postcode": range(-1, 4), "city": range(-1, 3)}


def address_key_parts(mapping: ColumnMapping) -> tuple[str, ...]:
    """Normalised columns whose joint equality is the address comparison's exact level (and
    whose concatenation is term-frequency adjusted): street with postcode, or street with
    city when there is no postcode; without a street, the postcode, else the city."""
    if mapping.street:
        locality = "postcode" if mapping.postcode else "city" if mapping.city else None
        return ("street", locality) if locality else ("street",)
    if mapping.postcode:
        return ("postcode",)
    return ("city",) if mapping.city else ()


def address_key_sql(mapping: ColumnMapping) -> str:
    """SQL over a normalised record: its address key (null when a part is missing)."""
    parts = address_key_parts(mapping)
    return " || '|' || ".join(parts) if parts else "null::varchar"


def address_level_label(
    street: int, postcode: int, city: int, key: tuple[str, ...] = ("street", "postcode")
) -> str | None:
    """Joint address level of a pair from its sub-levels (-1 = a side lacks the value, or
    the column is not mapped). None is the null level: nothing comparable on both sides."""
    if street < 0 and postcode < 0 and city < 0:
        return None
    subs = {"street": street, "postcode": postcode, "city": city}
    if key and all(subs[part] == 0 for part in key):
        return "exact"
    street_agrees = street in (STREET_EXACT, STREET_VERY_CLOSE)
    if street == STREET_VERY_CLOSE and postcode == POSTCODE_EXACT:
        return "street_typo"
    if street == STREET_CLOSE and postcode == POSTCODE_EXACT:
        return "street_close_same_postcode"
    if street_agrees and postcode == POSTCODE_ONE_EDIT:
        return "postcode_typo"
    if street_agrees and postcode < 0 and city in (-1, CITY_EXACT, CITY_CLOSE):
        return "street_no_postcode"
    if postcode == POSTCODE_EXACT and street < 0:
        return "postcode_no_street"
    if street == STREET_CLOSE and postcode < 0 and city == CITY_EXACT:
        return "street_close_same_city"
    if street_agrees:
        return "same_street_elsewhere"
    if postcode == POSTCODE_EXACT:
        return "same_postcode_other_street"
    if postcode == POSTCODE_ONE_EDIT:
        return "postcode_typo_same_city" if city == CITY_EXACT else "postcode_one_edit"
    if city == CITY_EXACT:
        return "same_city"
    if city == CITY_CLOSE and street < 0 and postcode < 0:
        return "city_close"
    return "else"


def _street_sub_levels() -> Comparison:
    return Comparison(
        "street",
        "street",
        (
            Level("exact", "l.street = r.street"),
            Level(
                "very_close",
                _both(
                    _same_house_number_possible(),
                    _either(_jw("street", 0.92), _token_overlap(1.0)),
                ),
            ),
            Level(
                "close",
                _both(
                    _same_house_number_possible(),
                    _either(_jw("street", 0.80), _token_overlap(0.5)),
                ),
            ),
        ),
    )


def _postcode_sub_levels() -> Comparison:
    return Comparison(
        "postcode",
        "postcode",
        (
            Level("exact", "l.postcode = r.postcode"),
            Level("one_edit", _edits("postcode", 3, guard=0.8)),
            Level("same_district", "l.postcode_district = r.postcode_district"),
        ),
    )


def _city_sub_levels() -> Comparison:
    return Comparison(
        "city", "city", (Level("exact", "l.city = r.city"), Level("close", _jw("city", 0.88)))
    )


def build_address_comparison(mapping: ColumnMapping) -> Comparison | None:
    """The joint street/postcode/city comparison for the address columns mapped (None when
    none is). Levels the mapping cannot reach are left out."""
    mapped = {"street": mapping.street, "postcode": mapping.postcode, "city": mapping.city}
    if not any(mapped.values()):
        return None
    key = address_key_parts(mapping)
    grid = [
        (s, p, c)
        for s in (_SUB_LEVELS["street"] if mapped["street"] else [-1])
        for p in (_SUB_LEVELS["postcode"] if mapped["postcode"] else [-1])
        for c in (_SUB_LEVELS["city"] if mapped["city"] else [-1])
    ]
    reached = {address_level_label(s, p, c, key) for s, p, c in grid}
    labels = [label for label in ADDRESS_LEVELS if label in reached]
    number = {label: i for i, label in enumerate(labels)} | {"else": len(labels), None: -1}
    # Lookup over every sub-level triple (unmapped columns stay -1), by `joint_index`.
    reachable = set(grid)
    table = [
        number[address_level_label(s, p, c, key)] if (s, p, c) in reachable else NULL_LEVEL
        for s in range(-1, 4)
        for p in range(-1, 4)
        for c in range(-1, 3)
    ]
    parts = tuple(
        build()
        for name, build in zip(
            ADDRESS_PARTS, (_street_sub_levels, _postcode_sub_levels, _city_sub_levels), strict=True
        )
        if mapped[name]
    )
    levels = tuple(Level(label, "joint, see address_level_label") for label in labels)
    return Comparison(
        "address",
        "address_key",
        levels,
        weight_chains=ADDRESS_CHAINS,
        parts=parts,
        joint_table=tuple(table),
    )


def training_comparisons(comparisons: list[Comparison]) -> list[Comparison]:
    """The comparisons EM trains: a joint comparison's parts in its place."""
    return [part for c in comparisons for part in (c.parts or (c,))]


def joint_levels(comparison: Comparison, part_levels: dict[str, np.ndarray]) -> np.ndarray:
    """A joint comparison's level for each row of its parts' levels (by part column)."""
    size = len(next(iter(part_levels.values())))
    cols = {p.name: part_levels[p.column] for p in comparison.parts}
    index = joint_index(*(cols.get(name, np.full(size, -1)) for name in ADDRESS_PARTS))
    return np.asarray(comparison.joint_table)[index]


def build_comparisons(mapping: ColumnMapping) -> list[Comparison]:
    """The comparisons applicable to the attributes this mapping provides."""
    comparisons: list[Comparison] = []
    has_given, has_family = bool(mapping.given_name), bool(mapping.family_name)
    both_names = has_given and has_family
    if has_given:
        levels = [Level("exact", "l.given = r.given")]
        if both_names:
            levels.append(Level("swapped", SWAPPED_NAMES))
            levels.append(Level("swapped_with_typo", _swapped_names_with_typo()))
        levels += [
            Level(
                "initial_vs_full",
                "(length(l.given) = 1 or length(r.given) = 1) "
                "and left(l.given, 1) = left(r.given, 1)",
            ),
            Level("very_close", _jw("given", 0.92)),
            Level("close", _jw("given", 0.80)),
        ]
        comparisons.append(Comparison("given_name", "given", tuple(levels), personal=True))
    if has_family:
        levels = [Level("exact", "l.family = r.family")]
        if both_names:
            levels.append(Level("swapped", SWAPPED_NAMES))
            levels.append(Level("swapped_with_typo", _swapped_names_with_typo()))
        levels += [
            Level("very_close", _jw("family", 0.92)),
            Level("phonetic", "l.family_phonetic = r.family_phonetic"),
            Level("close", _jw("family", 0.80)),
        ]
        comparisons.append(Comparison("family_name", "family", tuple(levels)))
    if mapping.birth_date:
        comparisons.append(
            Comparison(
                "birth_date",
                "birth_date",
                (
                    Level("exact", "l.birth_date = r.birth_date"),
                    Level("day_month_swapped", "l.birth_date = r.birth_date_swapped"),
                    Level("one_edit", _edits("birth_date")),
                    Level("same_year", "left(l.birth_date, 4) = left(r.birth_date, 4)"),
                ),
                personal=True,
            )
        )
    if mapping.email:
        comparisons.append(
            Comparison(
                "email",
                "email",
                (
                    Level("exact", "l.email = r.email"),
                    Level("one_edit", _edits("email", 6)),
                    Level("same_local_part", "l.email_local = r.email_local"),
                ),
                is_identifier=True,
                personal=True,
            )
        )
    if mapping.phone:
        comparisons.append(
            Comparison(
                "phone",
                "phone",
                (
                    Level("exact", "l.phone = r.phone"),
                    Level("same_last_7", "l.phone_suffix = r.phone_suffix"),
                    Level("one_edit", _edits("phone", 7)),
                ),
                is_identifier=True,
            )
        )
    address = build_address_comparison(mapping)
    if address is not None:
        comparisons.append(address)
    # a person id (national id, passport) is one person's own evidence; a shared id (a
    # household account) is evidence too, but not of which member a record is
    for col, source, identifies_one in mapping.id_columns():
        kind = "person_id" if identifies_one else "shared_id"
        comparisons.append(
            Comparison(
                f"{kind}_{source}",
                col,
                (
                    Level("exact", f"l.{col} = r.{col}"),
                    Level("one_edit", _edits(col, 4, guard=0.8)),
                ),
                is_identifier=True,
                personal=identifies_one,
            )
        )
    return comparisons


def personal_agreement(patterns: np.ndarray, comparisons: list[Comparison]) -> np.ndarray:
    """Per row of a (pairs, comparisons) level matrix: does some personal attribute agree
    (any level but null and else)? All true when the mapping has no personal attribute."""
    mask = np.zeros(patterns.shape[0], dtype=bool)
    personal = [j for j, c in enumerate(comparisons) if c.personal]
    if not personal:
        return ~mask
    for j in personal:
        level = patterns[:, j]
        mask |= (level >= 0) & (level < comparisons[j].else_level)
    return mask


def comparison_levels_sql(comparisons: list[Comparison], keys: str, source: str) -> str:
    """SELECT of `keys` and every comparison level `g_<column>` of the pairs in `source`
    (a FROM clause with aliases l and r): single-field levels, a joint comparison's parts
    included, in an inner select, so each is computed once; joint levels from those."""
    fields = ",\n".join(
        f"({c.level_sql()})::tinyint as g_{c.column}" for c in training_comparisons(comparisons)
    )
    joint = "".join(
        f", ({c.level_from_parts_sql()})::tinyint as g_{c.column}" for c in comparisons if c.parts
    )
    return f"select *{joint} from (select {keys}, {fields} {source})"

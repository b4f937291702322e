"""Prepare person records for matching, inside DuckDB: one row per input record with its
normalised attributes and the derived blocking and comparison columns, plus each compared
value's frequency.

The pure normalisers (`normalise`) run once per distinct raw value (names, cities, dates
repeat a lot) and are joined back as lookup tables, so the same Python code shapes the
values for tests, for users and for the warehouse.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from python_models.identity import normalise as norm
from python_models.identity.comparisons import Comparison, address_key_sql, street_numbers_sql
from python_models.identity.config import MatchConfig
from python_models.identity.mapping import ColumnMapping, missing_columns


@dataclass(frozen=True)
class Normaliser:
    """Normalised output columns computed by one pure function from one or two raw columns.

    Outputs are strings, except those named in `flags` (booleans)."""

    raw: tuple[str, ...]
    outputs: tuple[str, ...]
    fn: Callable[..., tuple[str | bool | None, ...]]
    flags: tuple[str, ...] = ()


def email_normaliser(raw: str, config: MatchConfig) -> Normaliser:
    """`normalise.normalise_email` and `normalise.is_generic_email` under `config`'s rules:
    outputs `email` (normalised) and `email_generic`."""

    def email(value: str) -> tuple[str | bool | None, ...]:
        normalised = norm.normalise_email(value, config.strip_plus_tags, config.gmail_dot_rule)
        generic = norm.is_generic_email(
            normalised, config.generic_email_local_parts, config.generic_email_domains
        )
        return normalised, generic

    return Normaliser((raw,), ("email", "email_generic"), email, flags=("email_generic",))


def phone_normaliser(raw: str, country: str, config: MatchConfig) -> Normaliser:
    """`normalise.normalise_phone` with the record's country: output `phone`."""

    def phone(value: str, country_value: str | None) -> tuple[str | None, ...]:
        return (norm.normalise_phone(value, country_value, config.default_country_code),)

    return Normaliser((raw, country), ("phone",), phone)


def _normalisers(mapping: ColumnMapping, config: MatchConfig) -> list[Normaliser]:
    def given(v: str) -> tuple[str | None, ...]:
        return norm.canonical_given_name(v), norm.phonetic_key(v)

    def family(v: str) -> tuple[str | None, ...]:
        # also canonicalised as a given name would be, for the swapped-names levels: a
        # record with the names the wrong way round has its nickname in the family field
        return norm.normalise_name(v), norm.phonetic_key(v), norm.canonical_given_name(v)

    def birth(v: str) -> tuple[str | None, ...]:
        iso = norm.normalise_birth_date(v, day_first=config.day_first_dates)
        return iso, norm.swapped_birth_date(iso)

    def one(fn: Callable[[str], str | None]) -> Callable[[str], tuple[str | None]]:
        return lambda v: (fn(v),)

    specs = [
        Normaliser(("given_raw",), ("given", "given_phonetic"), given),
        Normaliser(("family_raw",), ("family", "family_phonetic", "family_canonical"), family),
        email_normaliser("email_raw", config),
        phone_normaliser("phone_raw", "country_raw", config),
        Normaliser(("street_raw",), ("street",), one(norm.normalise_street)),
        Normaliser(("city_raw",), ("city",), one(norm.normalise_text)),
        Normaliser(("postcode_raw",), ("postcode",), one(norm.normalise_postcode)),
        Normaliser(("birth_raw",), ("birth_date", "birth_date_swapped"), birth),
    ]
    specs += [
        Normaliser((f"{column}_raw",), (column,), one(norm.normalise_text))
        for column, _, _ in mapping.id_columns()
    ]
    return specs


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _col(mapping_column: str | tuple[str, ...] | None) -> str:
    """A role's raw value as VARCHAR: one column, or several joined with a space (empty
    parts skipped), NULL when unmapped."""
    if not mapping_column:
        return "null::varchar"
    if isinstance(mapping_column, str):
        return f"cast({_quoted(mapping_column)} as varchar)"
    parts = ", ".join(f"nullif(trim(cast({_quoted(c)} as varchar)), '')" for c in mapping_column)
    return f"nullif(concat_ws(' ', {parts}), '')"


def _source_sql(table: str, mapping: ColumnMapping, known_group: str | None = None) -> str:
    """Raw attributes as VARCHAR with a dense integer `rid` per input row, and the
    `known_group` column as is (NULL without one)."""
    raw_ids = "".join(
        f", {_col(source)} as {column}_raw" for column, source, _ in mapping.id_columns()
    )
    raw_ids += f", {_col(mapping.source)} as source"
    raw_ids += f", {_quoted(known_group) if known_group else 'null::BIGINT'} as known_group"
    return f"""
        select row_number() over () - 1 as rid,
            cast({_quoted(mapping.record_id)} as varchar) as record_id,
            {_col(mapping.given_name)} as given_raw, {_col(mapping.family_name)} as family_raw,
            {_col(mapping.email)} as email_raw, {_col(mapping.phone)} as phone_raw,
            {_col(mapping.country)} as country_raw, {_col(mapping.street)} as street_raw,
            {_col(mapping.city)} as city_raw, {_col(mapping.postcode)} as postcode_raw,
            {_col(mapping.birth_date)} as birth_raw{raw_ids}
        from {table}
    """


def normalise_distinct_into(
    con: duckdb.DuckDBPyConnection, source: str, spec: Normaliser, out: str
) -> None:
    """Run the pure normaliser once per distinct raw value (names, cities, postcodes and
    dates repeat a lot) and store raw -> normalised as TEMP lookup table `out` (raw columns
    `k0`, `k1` ..., then the outputs)."""
    raw_cols = ", ".join(spec.raw)
    distinct = con.execute(
        f"select distinct {raw_cols} from {source} where {spec.raw[0]} is not null"
    ).fetchnumpy()
    columns = [distinct[c].tolist() for c in spec.raw]
    # a result tuple per distinct value (millions at scale) sets the cyclic garbage
    # collector off again and again, each time walking every live object; they hold no
    # cycles, so it is paused for the loop
    collecting = gc.isenabled()
    gc.disable()
    try:
        results = [spec.fn(*args) for args in zip(*columns, strict=True)]
    finally:
        if collecting:
            gc.enable()
    table = {f"k{i}": pa.array(col, type=pa.string()) for i, col in enumerate(columns)}
    for j, name in enumerate(spec.outputs):
        kind = pa.bool_() if name in spec.flags else pa.string()
        table[name] = pa.array([r[j] for r in results], type=kind)
    lookup = pa.table(table)  # noqa: F841 - read by DuckDB's replacement scan below
    con.execute(f"create or replace temp table {out} as select * from lookup")


def _lookup_match_sql(spec: Normaliser, lookup: str) -> str:
    """Join condition of lookup `lookup` (k0, k1 ...) with source alias `s`: the first raw
    column equal, the others (a phone's country) equal or both null."""
    return " and ".join(
        f"{lookup}.k{i} {'=' if i == 0 else 'is not distinct from'} s.{raw}"
        for i, raw in enumerate(spec.raw)
    )


def _held_lookup_into(
    con: duckdb.DuckDBPyConnection, source: str, spec: Normaliser, held: str, out: str
) -> None:
    """Lookup `out` for `spec`: the rows of `held` (raw columns k0, k1 ..., then the
    outputs), plus the source's values `held` lacks, normalised here."""
    columns = ", ".join([f"k{i}" for i in range(len(spec.raw))] + list(spec.outputs))
    con.execute(f"create or replace temp table {out} as select {columns} from ({held})")
    rest = f"{out}_rest"
    lacking = f"(select s.* from {source} as s anti join {out} on {_lookup_match_sql(spec, out)})"
    normalise_distinct_into(con, lacking, spec, rest)
    con.execute(f"insert into {out} select {columns} from {rest}")
    con.execute(f"drop table {rest}")


# Columns derived from one normalised value alone, computed once per distinct value in its
# lookup table rather than once per record (1M customers: 194k distinct streets for 2.84M
# records), by the normalised column they derive from.
DERIVED_COLUMNS: dict[str, dict[str, str]] = {
    "email": {"email_local": "nullif(split_part(email, '@', 1), '')"},
    "phone": {
        "phone_suffix": "case when length(regexp_replace(phone, '\\D', '', 'g')) >= 7"
        " then right(regexp_replace(phone, '\\D', '', 'g'), 7) end"
    },
    "postcode": {
        "postcode_district": "case when length(postcode) >= 5"
        " then left(postcode, length(postcode) - 3) else left(postcode, 2) end"
    },
    "street": {
        "street_tokens": "list_distinct(string_split(street, ' '))",
        "street_numbers": street_numbers_sql("street"),
        # the street without spaces, a blocking key
        "street_key": "nullif(replace(street, ' ', ''), '')",
    },
}


def _derived(spec: Normaliser) -> dict[str, str]:
    """The `DERIVED_COLUMNS` of a normaliser's outputs: name -> SQL."""
    return {
        name: sql
        for output in spec.outputs
        for name, sql in DERIVED_COLUMNS.get(output, {}).items()
    }


def _add_derived_columns(con: duckdb.DuckDBPyConnection, spec: Normaliser, lookup: str) -> None:
    derived = _derived(spec)
    if derived:
        columns = ", ".join(f"{sql} as {name}" for name, sql in derived.items())
        con.execute(f"create or replace temp table {lookup} as select *, {columns} from {lookup}")


def _records_sql(source: str, specs: list[Normaliser], lookups: list[str], address_key: str) -> str:
    """Normalised records joined from the lookups (with their `DERIVED_COLUMNS`), plus the
    blocking and comparison columns derived from several values."""
    outputs = ", ".join(
        f"{lk}.{name}"
        for spec, lk in zip(specs, lookups, strict=True)
        for name in (*spec.outputs, *_derived(spec))
    )
    joins = "\n".join(
        f"left join {lk} on {_lookup_match_sql(spec, lk)}"
        for spec, lk in zip(specs, lookups, strict=True)
    )
    return f"""
    with normalised as (
        select s.rid, s.record_id, s.source, s.known_group, {outputs}
        from {source} s
        {joins}
    )
    select *,
        -- blocking keys: either name's phonetic key (in whichever field) and the two as an
        -- unordered pair
        list_distinct(list_filter([given_phonetic, family_phonetic], lambda k: k is not null))
            as name_phonetics,
        least(given_phonetic, family_phonetic) || '|' || greatest(given_phonetic, family_phonetic)
            as name_phonetic_pair,
        -- what the joint address comparison's exact level compares and TF-adjusts
        {address_key} as address_key
    from normalised
    """


def _check_columns(con: duckdb.DuckDBPyConnection, table: str, mapping: ColumnMapping) -> None:
    try:
        columns = {row[0] for row in con.execute(f"describe select * from {table}").fetchall()}
    except duckdb.Error as err:
        raise ValueError(f"cannot read input table {table!r}: {err}") from err
    missing = missing_columns(mapping, columns)
    if missing:
        raise ValueError(
            f"{table}: mapped column(s) not found: "
            + ", ".join(f"{role} -> {col!r}" for role, col in missing)
            + f"; the table has {sorted(columns)}"
        )


def _check_record_ids(con: duckdb.DuckDBPyConnection, records: str, table: str, id_col: str):
    missing = con.execute(f"select min(rid) from {records} where record_id is null").fetchone()[0]
    if missing is not None:
        raise ValueError(f"{table}: row {missing + 1} has no value in record id column {id_col!r}")
    dup = con.execute(
        f"select record_id, count(*) from {records} group by 1 having count(*) > 1 limit 1"
    ).fetchone()
    if dup:
        raise ValueError(
            f"{table}: record id {dup[0]!r} in column {id_col!r} appears {dup[1]} times; "
            "record ids must be unique"
        )


def _people_sql() -> str:
    """Aggregate: how many different people the records holding one identifier value look
    like. One person's records vary in one name at a time (a typo'd surname, a nickname),
    different people in both: so the count is the smaller of the distinct given-name and
    family-name phonetic keys (whichever is known), not the distinct surnames, which one
    person with a surname typo'd three ways would already exceed."""
    given, family = "count(distinct given_phonetic)", "count(distinct family_phonetic)"
    return (
        f"(case when {given} = 0 then {family} when {family} = 0 then {given}"
        f" else least({given}, {family}) end)"
    )


def value_frequency_sql(people_key: str) -> str:
    """SQL aggregate over the records holding one value: the share of the records that
    belong to *other people* than the pair that agrees on it.

    The TF adjustment asks how often a non-matching record holds the value. An exact pair
    always holds it twice itself: counted in, a street held only by one person's two
    records reads as 2 in 1,000 in FEBRL1 (1,000 records), far above the exact level's u,
    and the adjustment took 2.5 (later 7.5) bits off exactly the agreement that says most.
    So at most the holders beyond the pair count, and of those only the share that looks
    like other people: holders are counted as `count(distinct people_key)` people (the
    phonetic key of the other name, e.g. the given name for an address: a person's records
    keep theirs, a household's members do not share one), and with p people among n
    holders, n (p - 1) / p records are someone else's. One person's five records at one
    address (FEBRL2) then make the address no commoner; two people of one household do.
    Without any `people_key` value, all holders beyond the pair count. In a large file
    this changes only rare values, which reach the boost's cap either way."""
    people = f"count(distinct {people_key})"
    beyond_pair = "greatest(count(*) - 2, 0)"
    others = (
        f"(case when {people} = 0 then {beyond_pair}"
        f" else least({beyond_pair}, count(*) * ({people} - 1) / {people}) end)"
    )
    return f"{others}::double / greatest(sum(count(*)) over () - 2, 1)"


def people_key_column(column: str) -> str:
    """The normalised column that tells the people holding a value of `column` apart: the
    family name's phonetic key for a given name, the given name's for everything else."""
    return "family_phonetic" if column == "given" else "given_phonetic"


def add_frequencies_into(
    con: duckdb.DuckDBPyConnection,
    records: str,
    comparisons: list[Comparison],
    config: MatchConfig,
    out: str,
) -> dict[str, int]:
    """TEMP table `out(rid, tf_<column> ..., shared_<identifier> ...)`: per record of
    `records`, the frequency of each compared value (for TF adjustment) and, for
    identifiers, whether the value is shared by too many distinct names. Narrow on purpose:
    the records are not copied. Returns the number of non-null values per compared column.

    The frequency is that of the value among other people's records (`value_frequency_sql`)."""
    ctes, selects, joins = [], [], []
    for c in comparisons:
        col = c.column
        shared = ""
        if c.is_identifier:
            generic = "false"
            if col == "email":
                generic = "coalesce(bool_or(email_generic), false)"
            elif col == "phone" and config.generic_phones:
                listed = ", ".join(f"'{v}'" for v in config.generic_phones)
                generic = f"any_value(phone) in ({listed})"
            shared = (
                f", {_people_sql()} > {config.shared_identifier_max_names} or {generic} as shared"
            )
            selects.append(f"coalesce(f_{col}.shared, false) as shared_{col}")
        ctes.append(
            f"f_{col} as (select {col} as v, "
            f"{value_frequency_sql(people_key_column(col))} as tf"
            f"{shared} from {records} where {col} is not null group by {col})"
        )
        selects.append(f"f_{col}.tf as tf_{col}")
        joins.append(f"left join f_{col} on f_{col}.v = rec.{col}")
    con.execute(
        f"create or replace temp table {out} as with {', '.join(ctes)} "
        f"select rec.rid, {', '.join(selects)} from {records} rec {' '.join(joins)}"
    )
    counts = con.execute(
        f"select {', '.join(f'count({c.column})' for c in comparisons)} from {records}"
    ).fetchone()
    return {c.column: int(n) for c, n in zip(comparisons, counts, strict=True)}


def normalise_records_into(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig,
    out: str,
    known_group: str | None = None,
    held_lookups: Mapping[str, str] | None = None,
) -> None:
    """TEMP table `out`: one row per input record (dense `rid`, `record_id`, the input's
    `known_group` column if named) with its normalised attributes and the derived comparison
    and blocking columns.

    `held_lookups` maps a role ('email', 'phone') to a SQL relation the caller already
    holds from the same normaliser: its raw columns `k0`, `k1` ... and its outputs. Values
    it covers are not normalised again (the pipeline hands the matcher emails and phones it
    normalised itself, and normalising is idempotent); any others are."""
    source = f"{out}_source"
    specs = _normalisers(mapping, config)
    lookups = [f"{out}_lookup_{i}" for i in range(len(specs))]
    held = {f"{role}_raw": sql for role, sql in (held_lookups or {}).items()}
    try:
        _check_columns(con, table, mapping)
        con.execute(
            f"create or replace temp table {source} as {_source_sql(table, mapping, known_group)}"
        )
        for spec, lookup in zip(specs, lookups, strict=True):
            if spec.raw[0] in held:
                _held_lookup_into(con, source, spec, held[spec.raw[0]], lookup)
            else:
                normalise_distinct_into(con, source, spec, lookup)
            _add_derived_columns(con, spec, lookup)
        records_sql = _records_sql(source, specs, lookups, address_key_sql(mapping))
        con.execute(f"create or replace temp table {out} as {records_sql}")
    finally:
        for t in (source, *lookups):
            con.execute(f"drop table if exists {t}")
    _check_record_ids(con, out, table, mapping.record_id)

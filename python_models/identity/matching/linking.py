"""Probabilistic record linkage inside DuckDB: normalise -> block -> compare -> score.

`find_links` / `score_links_into` read person records from a DuckDB table or view, keep
their working tables as TEMP tables on the given connection (dropped at the end) and return
scored candidate pairs. Set work (blocking self-joins, comparison levels, term frequencies,
scoring) runs in DuckDB SQL; Python runs the pure normalisers once per distinct raw value
and Fellegi-Sunter estimation on aggregated comparison patterns.

Over-merge guards:
- term-frequency adjustment: an exact match on a common value (a family phone, a common
  surname) is worth only what its frequency says;
- shared identifiers: an email/phone/id value held by more than
  `shared_identifier_max_names` distinct surnames, or an email with a generic local part
  (info@, sales@ ...), contributes nothing, so it can never link records on its own;
- households: EM holds pairs with no agreeing personal attribute (given name, birth date,
  email, personal id) to be non-matches, and an auto-link needs net positive personal
  evidence, so shared address + phone + surname alone only ever reach review.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from python_models.identity.matching import normalise as norm
from python_models.identity.matching.comparisons import (
    LIST_KEY_COLUMNS,
    NAME_ONLY_RULE,
    Comparison,
    address_key_sql,
    build_blocking_rules,
    build_comparisons,
    joint_levels,
    personal_agreement,
    street_numbers_sql,
    training_comparisons,
)
from python_models.identity.matching.config import ColumnMapping, MatchConfig
from python_models.identity.matching.scoring import (
    FellegiSunterModel,
    cap_weights_along_chains,
    estimate_m_by_em,
    estimate_u,
    expected_matches,
    level_shares,
    match_posterior,
)

GENERIC_EMAIL_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "info", "admin", "office", "contact", "sales", "hello", "support", "enquiries",
        "enquiry", "accounts", "noreply", "no-reply", "team", "mail", "reception", "family",
        "home", "test", "billing", "orders", "shop", "service", "help", "webmaster",
    }
)  # fmt: skip

LINK_COLUMNS = [
    "left_id",
    "right_id",
    "match_weight",
    "match_probability",
    "evidence",
    "decision",
]


@dataclass
class LinkageStats:
    """What one run did: sizes, timings and the trained model (for asset metadata)."""

    records: int = 0
    candidate_pairs: int = 0
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks_by_rule: dict[str, int] = field(default_factory=dict)
    auto_links: int = 0
    review_links: int = 0
    seconds_by_step: dict[str, float] = field(default_factory=dict)
    model: FellegiSunterModel | None = None

    def as_metadata(self) -> dict:
        return {
            "records": self.records,
            "candidate_pairs": self.candidate_pairs,
            "pairs_per_record": round(self.candidate_pairs / max(self.records, 1), 2),
            "pairs_by_rule": self.pairs_by_rule,
            "skipped_blocks_by_rule": self.skipped_blocks_by_rule,
            "auto_links": self.auto_links,
            "review_links": self.review_links,
            "seconds_by_step": {k: round(v, 2) for k, v in self.seconds_by_step.items()},
            "prior_match_probability": None if self.model is None else self.model.prior_probability,
        }


@dataclass(frozen=True)
class _Normaliser:
    """Normalised output columns computed by one pure function from one or two raw columns."""

    raw: tuple[str, ...]
    outputs: tuple[str, ...]
    fn: Callable[..., tuple[str | None, ...]]


def _normalisers(mapping: ColumnMapping, config: MatchConfig) -> list[_Normaliser]:
    email = functools.partial(
        norm.normalise_email,
        strip_plus_addressing=config.strip_plus_addressing,
        gmail_remove_dots=config.gmail_remove_dots,
    )

    def given(v: str) -> tuple[str | None, ...]:
        return norm.canonical_given_name(v), norm.phonetic_key(v)

    def family(v: str) -> tuple[str | None, ...]:
        return norm.normalise_name(v), norm.phonetic_key(v)

    def birth(v: str) -> tuple[str | None, ...]:
        iso = norm.normalise_birth_date(v, day_first=config.day_first_dates)
        return iso, norm.swapped_birth_date(iso)

    def phone(v: str, country: str | None) -> tuple[str | None, ...]:
        return (norm.normalise_phone(v, country, config.default_country_code),)

    def one(fn: Callable[[str], str | None]) -> Callable[[str], tuple[str | None]]:
        return lambda v: (fn(v),)

    specs = [
        _Normaliser(("given_raw",), ("given", "given_phonetic"), given),
        _Normaliser(("family_raw",), ("family", "family_phonetic"), family),
        _Normaliser(("email_raw",), ("email",), one(email)),
        _Normaliser(("phone_raw", "country_raw"), ("phone",), phone),
        _Normaliser(("street_raw",), ("street",), one(norm.normalise_street)),
        _Normaliser(("city_raw",), ("city",), one(norm.normalise_text)),
        _Normaliser(("postcode_raw",), ("postcode",), one(norm.normalise_postcode)),
        _Normaliser(("birth_raw",), ("birth_date", "birth_date_swapped"), birth),
    ]
    specs += [
        _Normaliser((f"other_id_raw_{i}",), (f"other_id_{i}",), one(norm.normalise_text))
        for i in range(len(mapping.other_ids))
    ]
    return specs


def _col(mapping_column: str | None) -> str:
    if not mapping_column:
        return "null::varchar"
    return f'cast("{mapping_column}" as varchar)'


def _source_sql(table: str, mapping: ColumnMapping) -> str:
    """Raw attributes as VARCHAR with a dense integer `rid` per input row."""
    raw_ids = "".join(
        f", {_col(col)} as other_id_raw_{i}" for i, col in enumerate(mapping.other_ids)
    )
    return f"""
        select row_number() over () - 1 as rid,
            cast("{mapping.record_id}" as varchar) as record_id,
            {_col(mapping.given_name)} as given_raw, {_col(mapping.family_name)} as family_raw,
            {_col(mapping.email)} as email_raw, {_col(mapping.phone)} as phone_raw,
            {_col(mapping.country)} as country_raw, {_col(mapping.street)} as street_raw,
            {_col(mapping.city)} as city_raw, {_col(mapping.postcode)} as postcode_raw,
            {_col(mapping.birth_date)} as birth_raw{raw_ids}
        from {table}
    """


def _normalise_distinct(
    con: duckdb.DuckDBPyConnection, source: str, spec: _Normaliser, out: str
) -> None:
    """Run the pure normaliser once per distinct raw value (names, cities, postcodes and
    dates repeat a lot) and store raw -> normalised as a lookup table."""
    raw_cols = ", ".join(spec.raw)
    distinct = con.execute(
        f"select distinct {raw_cols} from {source} where {spec.raw[0]} is not null"
    ).fetchnumpy()
    columns = [distinct[c].tolist() for c in spec.raw]
    results = [spec.fn(*args) for args in zip(*columns, strict=True)]
    table = {f"k{i}": pa.array(col, type=pa.string()) for i, col in enumerate(columns)}
    for j, name in enumerate(spec.outputs):
        table[name] = pa.array([r[j] for r in results], type=pa.string())
    lookup = pa.table(table)  # noqa: F841 - read by DuckDB's replacement scan below
    con.execute(f"create or replace temp table {out} as select * from lookup")


def _records_sql(
    source: str, specs: list[_Normaliser], lookups: list[str], address_key: str
) -> str:
    """Normalised records joined from the lookups, plus the derived blocking keys."""
    outputs = ", ".join(
        f"{lk}.{name}" for spec, lk in zip(specs, lookups, strict=True) for name in spec.outputs
    )
    joins = "\n".join(
        f"left join {lk} on "
        + " and ".join(
            f"{lk}.k{i} {'=' if i == 0 else 'is not distinct from'} s.{raw}"
            for i, raw in enumerate(spec.raw)
        )
        for spec, lk in zip(specs, lookups, strict=True)
    )
    return f"""
    with normalised as (
        select s.rid, s.record_id, {outputs}
        from {source} s
        {joins}
    )
    select *,
        nullif(split_part(email, '@', 1), '') as email_local,
        case when length(regexp_replace(phone, '\\D', '', 'g')) >= 7
             then right(regexp_replace(phone, '\\D', '', 'g'), 7) end as phone_suffix,
        case when length(postcode) >= 5 then left(postcode, length(postcode) - 3)
             else left(postcode, 2) end as postcode_district,
        list_distinct(string_split(street, ' ')) as street_tokens,
        {street_numbers_sql("street")} as street_numbers,
        left(given, 1) as given_initial,
        left(family, 1) as family_initial,
        left(given, 3) as given_prefix,
        left(family, 3) as family_prefix,
        -- blocking keys: either name's phonetic key (in whichever field), the two as an
        -- unordered pair, and the street without spaces
        list_distinct(list_filter([given_phonetic, family_phonetic], lambda k: k is not null))
            as name_phonetics,
        least(given_phonetic, family_phonetic) || '|' || greatest(given_phonetic, family_phonetic)
            as name_phonetic_pair,
        nullif(replace(street, ' ', ''), '') as street_key,
        -- what the joint address comparison's exact level compares and TF-adjusts
        {address_key} as address_key,
        -- coarse on purpose: typo'd or nicknamed records of one person share it, so they do
        -- not make their own identifier look shared
        coalesce(family_phonetic, given_phonetic) as name_key
    from normalised
    """


def _check_columns(con: duckdb.DuckDBPyConnection, table: str, mapping: ColumnMapping) -> None:
    try:
        columns = {row[0] for row in con.execute(f"describe select * from {table}").fetchall()}
    except duckdb.Error as err:
        raise ValueError(f"cannot read input table {table!r}: {err}") from err
    wanted = {"record_id": mapping.record_id, **mapping.roles()}
    missing = {role: col for role, col in wanted.items() if col not in columns}
    if missing:
        raise ValueError(
            f"{table}: mapped column(s) not found: "
            + ", ".join(f"{role} -> {col!r}" for role, col in missing.items())
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


def _add_frequencies(
    con: duckdb.DuckDBPyConnection,
    records: str,
    comparisons: list[Comparison],
    config: MatchConfig,
    out: str,
) -> dict[str, int]:
    """Per record: the frequency of each compared value (for TF adjustment) and, for
    identifiers, whether the value is shared by too many distinct names. Returns the number
    of non-null values per compared column."""
    ctes, selects, joins = [], [], []
    for c in comparisons:
        col = c.column
        shared = ""
        if c.is_identifier:
            generic = "false"
            if col == "email":
                listed = ", ".join(f"'{v}'" for v in sorted(GENERIC_EMAIL_LOCAL_PARTS))
                generic = f"any_value(email_local) in ({listed})"
            shared = (
                f", count(distinct name_key) > {config.shared_identifier_max_names}"
                f" or {generic} as shared"
            )
            selects.append(f"coalesce(f_{col}.shared, false) as shared_{col}")
        ctes.append(
            f"f_{col} as (select {col} as v, count(*)::double / sum(count(*)) over () as tf"
            f"{shared} from {records} where {col} is not null group by {col})"
        )
        selects.append(f"f_{col}.tf as tf_{col}")
        joins.append(f"left join f_{col} on f_{col}.v = rec.{col}")
    con.execute(
        f"create or replace temp table {out} as with {', '.join(ctes)} "
        f"select rec.*, {', '.join(selects)} from {records} rec {' '.join(joins)}"
    )
    counts = con.execute(
        f"select {', '.join(f'count({c.column})' for c in comparisons)} from {records}"
    ).fetchone()
    return {c.column: int(n) for c, n in zip(comparisons, counts, strict=True)}


def _block_keys_sql(records: str, cols: list[str]) -> str:
    """SQL (rid, k): each record's blocking key(s) for one rule, records lacking a part left
    out. A list-valued column (`LIST_KEY_COLUMNS`) gives one key per element."""
    lists = [c for c in cols if c in LIST_KEY_COLUMNS]
    unnests = "".join(f", unnest({c}) as u_{c}(v)" for c in lists)
    parts = [f"u_{c}.v" if c in LIST_KEY_COLUMNS else c for c in cols]
    key = " || '|' || ".join(parts)
    not_null = " and ".join(f"{c} is not null" for c in cols if c not in LIST_KEY_COLUMNS)
    where = f" where {not_null}" if not_null else ""
    distinct = "distinct " if lists else ""
    return f"(select {distinct}rid, {key} as k from {records}{unnests}{where})"


def _block(
    con: duckdb.DuckDBPyConnection,
    records: str,
    rules: dict[str, list[str]],
    config: MatchConfig,
    out: str,
    stats: LinkageStats,
    keep_rules: bool = False,
) -> None:
    """Candidate pairs (l < r): union of the blocking rules' self-joins, deduplicated (with
    the list of rules that paired them when `keep_rules`).

    A block larger than `max_block_size` is skipped for that rule; the skipped counts are
    reported so a user sees which keys were too common to block on.
    """
    selects = []
    for name, cols in rules.items():
        cap = config.max_name_block_size if name == NAME_ONLY_RULE else config.max_block_size
        keyed = _block_keys_sql(records, cols)
        sized = f"(select k from {keyed} group by k having count(*) between 2 and {cap})"
        skipped = con.execute(
            f"select count(*) from (select k from {keyed} group by k having count(*) > {cap})"
        ).fetchone()[0]
        stats.skipped_blocks_by_rule[name] = int(skipped)
        selects.append(
            f"select a.rid as l, b.rid as r, '{name}' as rule from {keyed} a "
            f"join {keyed} b on a.k = b.k and a.rid < b.rid where a.k in {sized}"
        )
    union = "\nunion all\n".join(selects)
    con.execute(f"create or replace temp table {out}_all as {union}")
    for name, count in con.execute(f"select rule, count(*) from {out}_all group by 1").fetchall():
        stats.pairs_by_rule[name] = int(count)
    pairs = "l, r, list(distinct rule order by rule) as rules" if keep_rules else "distinct l, r"
    group = " group by l, r" if keep_rules else ""
    con.execute(
        f"create or replace temp table {out} as select {pairs} from {out}_all{group} order by l, r"
    )
    con.execute(f"drop table {out}_all")


def _gamma_sql(comparisons: list[Comparison], keys: str, source: str) -> str:
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


def _patterns(
    con: duckdb.DuckDBPyConnection, sql: str, comparisons: list[Comparison]
) -> tuple[np.ndarray, np.ndarray]:
    gcols = ", ".join(f"g_{c.column}" for c in comparisons)
    frame = con.execute(
        f"select {gcols}, count(*) as n from ({sql}) group by all order by all"
    ).df()
    patterns = frame[[f"g_{c.column}" for c in comparisons]].to_numpy(dtype=np.int64)
    return patterns, frame["n"].to_numpy(dtype=np.int64)


def _random_pairs_sql(records: str, out: str, n_records: int, config: MatchConfig) -> str:
    """SQL creating `out(l, r)`: pseudo-random record pairs for estimating u.

    Hash-based, not `random()`: DuckDB's seeded `random()` is not repeatable across threads,
    and a different sample means different u, different weights and, near a threshold, a
    different link and customer key. Records are ranked by the hash of their record id (not
    by row position, which depends on how the input was scanned), and draw i picks the
    records at ranks hash(i, seed, 1) and hash(i, seed, 2) modulo n: identical input, identical
    sample, on any thread count.
    """
    draws = max(1, min(config.u_sample_pairs, n_records * (n_records - 1) // 2))
    seed = int(config.random_seed)
    return f"""create or replace temp table {out} as
    with ranked as (
        select rid, row_number() over (order by hash(record_id, {seed}), record_id) - 1 as pos
        from {records}
    ),
    picks as (
        select hash(i, {seed}, 1) % {n_records} as lp, hash(i, {seed}, 2) % {n_records} as rp
        from range({draws}) as t(i)
    )
    select a.rid as l, b.rid as r
    from picks join ranked a on a.pos = picks.lp join ranked b on b.pos = picks.rp
    where a.rid <> b.rid"""


def _train(
    con: duckdb.DuckDBPyConnection,
    records: str,
    pairs: str,
    comparisons: list[Comparison],
    config: MatchConfig,
    n_records: int,
) -> FellegiSunterModel:
    draws = f"{records}_draws"
    con.execute(_random_pairs_sql(records, draws, n_records, config))
    random_pairs = _gamma_sql(
        comparisons,
        "d.l, d.r",
        f"from {draws} d join {records} l on l.rid = d.l join {records} r on r.rid = d.r",
    )
    # EM trains single-field comparisons (a joint comparison's parts): see `_joint_model`.
    fields = training_comparisons(comparisons)
    u_patterns, u_counts = _patterns(con, random_pairs, fields)
    con.execute(f"drop table {draws}")
    n_levels = [len(c.levels) + 1 for c in fields]
    u = estimate_u(u_patterns, u_counts, n_levels, config.u_prior_pairs)
    candidate = f"select * from {pairs}"
    m_patterns, m_counts = _patterns(con, candidate, fields)
    # EM sees the candidate pairs plus the random pairs: blocked pairs alone are mostly
    # matches, which leaves the non-match side unidentified and the m of disagreement levels
    # inflated; random pairs pin it down.
    train_patterns = np.vstack([m_patterns, u_patterns])
    train_counts = np.concatenate([m_counts, u_counts])
    eligible = personal_agreement(train_patterns, fields)
    model = estimate_m_by_em(
        train_patterns,
        train_counts,
        u,
        names=[c.name for c in fields],
        max_iterations=config.em_max_iterations,
        tolerance=config.em_tolerance,
        eligible=eligible,
    )
    # Prior as in Splink: the chance that two random records match, from the expected number
    # of matches among candidates over all possible pairs.
    total_pairs = n_records * (n_records - 1) / 2
    matches = expected_matches(m_patterns, m_counts, model, personal_agreement(m_patterns, fields))
    prior = float(np.clip(matches / total_pairs, 1e-12, 0.5))
    model = dataclasses.replace(model, prior_probability=prior)
    return _joint_model(
        model, comparisons, train_patterns, train_counts, eligible, u_patterns, u_counts, config
    )


def _joint_model(
    fields_model: FellegiSunterModel,
    comparisons: list[Comparison],
    patterns: np.ndarray,
    counts: np.ndarray,
    eligible: np.ndarray,
    u_patterns: np.ndarray,
    u_counts: np.ndarray,
    config: MatchConfig,
) -> FellegiSunterModel:
    """The scoring model: single-field m/u as trained, a joint comparison's m/u from its
    parts' levels.

    EM trains street, postcode and city as independent fields, as before: trained jointly,
    its one "no part agrees" level let EM's match class drift to "same name, anywhere" on the
    synthetic bench (that level's m rose to 0.41, and every disagreement weight weakened with
    it). The joint levels' m are then the level shares among the pairs that model holds to
    be matches (one M-step with its posteriors), their u the shares among the random pairs.
    """
    if not any(c.parts for c in comparisons):
        return fields_model
    fields = training_comparisons(comparisons)
    index = {c.column: j for j, c in enumerate(fields)}
    weighted = match_posterior(patterns, fields_model, eligible) * counts
    m, u = [], []
    for c in comparisons:
        if not c.parts:
            m.append(fields_model.m[index[c.column]])
            u.append(fields_model.u[index[c.column]])
            continue
        n_levels = len(c.levels) + 1
        levels = joint_levels(c, {p.column: patterns[:, index[p.column]] for p in c.parts})
        m.append(level_shares(levels, weighted, n_levels))
        random_levels = joint_levels(c, {p.column: u_patterns[:, index[p.column]] for p in c.parts})
        u.append(estimate_u(random_levels[:, None], u_counts, [n_levels], config.u_prior_pairs)[0])
    return dataclasses.replace(fields_model, names=[c.name for c in comparisons], m=m, u=u)


def _weight_sql(
    c: Comparison, weights: np.ndarray, u_exact: float, config: MatchConfig, non_null: int
) -> str:
    """SQL for one comparison's weight (bits) given its level, with TF adjustment on the
    exact level and the shared-identifier guard.

    The value frequency is shrunk towards u_exact by `tf_prior_records` pseudo-records
    (what a value's frequency is, on average, when nothing else is known)."""
    g = f"g_{c.column}"
    k = config.tf_prior_records
    tf = f"((l.tf_{c.column} * {non_null} + {k} * {u_exact:.12g}) / ({non_null} + {k}))"
    exact = (
        f"{weights[0]:.6f} + least({config.tf_max_boost_bits}, "
        f"log2({u_exact:.12g} / greatest({tf}, 1e-12)))"
    )
    if c.is_identifier:
        exact = f"case when l.shared_{c.column} then 0.0 else {exact} end"
    whens = " ".join(f"when {i} then {w:.6f}" for i, w in enumerate(weights) if i > 0)
    return f"(case {g} when -1 then 0.0 when 0 then {exact} {whens} end)"


def normalise_records_into(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig,
    out: str,
) -> None:
    """TEMP table `out`: one row per input record (dense `rid`, `record_id`) with its
    normalised attributes and the derived comparison and blocking columns."""
    source = f"{out}_source"
    specs = _normalisers(mapping, config)
    lookups = [f"{out}_lookup_{i}" for i in range(len(specs))]
    try:
        _check_columns(con, table, mapping)
        con.execute(f"create or replace temp table {source} as {_source_sql(table, mapping)}")
        for spec, lookup in zip(specs, lookups, strict=True):
            _normalise_distinct(con, source, spec, lookup)
        records_sql = _records_sql(source, specs, lookups, address_key_sql(mapping))
        con.execute(f"create or replace temp table {out} as {records_sql}")
    finally:
        for t in (source, *lookups):
            con.execute(f"drop table if exists {t}")
    _check_record_ids(con, out, table, mapping.record_id)


def candidate_pairs(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen dataclass
) -> pd.DataFrame:
    """The record pairs the blocking rules put side by side (`left_id`, `right_id`, `rules`
    that paired them): what to look at when a true pair was never even compared."""
    run = uuid.uuid4().hex[:8]
    records, pairs = f"_c360m_{run}_records", f"_c360m_{run}_pairs"
    stats = LinkageStats()
    try:
        normalise_records_into(con, table, mapping, config, records)
        _block(con, records, build_blocking_rules(mapping), config, pairs, stats, keep_rules=True)
        return con.execute(
            f"select l.record_id as left_id, r.record_id as right_id, p.rules from {pairs} p "
            f"join {records} l on l.rid = p.l join {records} r on r.rid = p.r order by all"
        ).df()
    finally:
        for t in (records, pairs):
            con.execute(f"drop table if exists {t}")


def score_links_into(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen dataclass
    out_table: str = "match_links",
) -> LinkageStats:
    """Run the whole linkage and write scored pairs to TEMP table `out_table` (columns
    `LINK_COLUMNS`) on `con`. Returns sizes, timings and the trained model."""
    stats = LinkageStats()
    run = uuid.uuid4().hex[:8]
    prefix = f"_c360m_{run}_"
    records, freq, pairs = f"{prefix}records", f"{prefix}freq", f"{prefix}pairs"
    gamma = f"{prefix}gamma"
    comparisons = build_comparisons(mapping)
    if not comparisons:
        raise ValueError("mapping names no attribute to compare; map at least one column")
    rules = build_blocking_rules(mapping)
    if not rules:
        raise ValueError(
            "mapping gives no blocking rule; map an email, phone, other id, or names with "
            "postcode/birth date"
        )
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats.seconds_by_step[step] = now - clock
        clock = now

    try:
        normalise_records_into(con, table, mapping, config, records)
        stats.records = con.execute(f"select count(*) from {records}").fetchone()[0]
        lap("normalise")
        non_null = _add_frequencies(con, records, comparisons, config, freq)
        con.execute(f"drop table {records}")
        lap("frequencies")
        _block(con, freq, rules, config, pairs, stats)
        stats.candidate_pairs = con.execute(f"select count(*) from {pairs}").fetchone()[0]
        lap("blocking")
        if stats.candidate_pairs == 0:
            con.execute(
                f"create or replace temp table {out_table} (left_id varchar, right_id varchar, "
                "match_weight double, match_probability double, evidence json, decision varchar)"
            )
            return stats
        # Comparison levels of every candidate pair, computed once for training and scoring.
        gamma_sql = _gamma_sql(
            comparisons,
            "p.l, p.r",
            f"from {pairs} p join {freq} l on l.rid = p.l join {freq} r on r.rid = p.r",
        )
        con.execute(f"create or replace temp table {gamma} as {gamma_sql}")
        con.execute(f"drop table {pairs}")
        lap("comparison")
        model = _train(con, freq, gamma, comparisons, config, stats.records)
        stats.model = model
        lap("training")
        con.execute(_scoring_sql(comparisons, model, config, freq, gamma, out_table, non_null))
        counts = dict(
            con.execute(f"select decision, count(*) from {out_table} group by 1").fetchall()
        )
        stats.auto_links = int(counts.get("auto_link", 0))
        stats.review_links = int(counts.get("review", 0))
        lap("scoring")
        return stats
    finally:
        for t in (records, freq, pairs, gamma):
            con.execute(f"drop table if exists {t}")


def _scoring_sql(
    comparisons: list[Comparison],
    model: FellegiSunterModel,
    config: MatchConfig,
    records: str,
    gamma: str,
    out_table: str,
    non_null: dict[str, int],
) -> str:
    """SQL that weights each candidate's levels, sums them with the prior, and keeps pairs
    at or above the review threshold with their evidence and decision."""
    weights = [
        cap_weights_along_chains(w, c.chain_indices())
        for c, w in zip(comparisons, model.level_weights(), strict=True)
    ]
    weight_cols = ",\n".join(
        f"{_weight_sql(c, w, float(u[0]), config, non_null[c.column])} as w_{c.column}"
        for c, w, u in zip(comparisons, weights, model.u, strict=True)
    )
    total = " + ".join(f"w_{c.column}" for c in comparisons)
    evidence = ", ".join(
        f"'{c.name}', json_object('level', "
        f"[{', '.join(repr(x) for x in ['null', *c.labels])}][g_{c.column} + 2], "
        f"'weight', round(w_{c.column}, 2))"
        for c in comparisons
    )
    side_cols = ", ".join(
        [f"l.tf_{c.column}" for c in comparisons]
        + [f"l.shared_{c.column}" for c in comparisons if c.is_identifier]
    )
    personal = [f"w_{c.column}" for c in comparisons if c.personal]
    # Household guard: shared-address evidence may not outvote the person's own attributes,
    # so an auto-link needs net positive evidence from the personal comparisons, and a pair
    # whose personal attributes disagree on balance (two members of one household: same
    # surname, address and phone, different given names) is not a plausible match at all, so
    # it is not returned for review either. Pairs with no personal evidence either way (a
    # side lacks those fields) still go to review.
    personal_sum = f"({' + '.join(personal)})" if personal else "1.0"
    review_weight = float(np.log2(config.review_probability / (1 - config.review_probability)))
    return f"""
    create or replace temp table {out_table} as
    with gamma as (
        select l.record_id as left_id, r.record_id as right_id, g.*, {side_cols}
        from {gamma} g join {records} l on l.rid = g.l join {records} r on r.rid = g.r
    ),
    weighted as (
        select left_id, right_id, {", ".join(f"g_{c.column}" for c in comparisons)},
            {weight_cols.replace("l.tf_", "tf_").replace("l.shared_", "shared_")}
        from gamma
    ),
    scored as (
        select *, {model.prior_weight:.6f} + {total} as match_weight from weighted
    )
    select left_id, right_id, match_weight,
        pow(2, match_weight) / (1 + pow(2, match_weight)) as match_probability,
        json_object({evidence}) as evidence,
        case when pow(2, match_weight) / (1 + pow(2, match_weight))
                  >= {config.auto_link_probability}
                  and {personal_sum} > 0
             then 'auto_link' else 'review' end as decision
    from scored
    where match_weight >= {review_weight:.6f} and {personal_sum} >= 0
    """


def find_links(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen dataclass
) -> pd.DataFrame:
    """Scored record pairs at or above the review threshold.

    Columns: left_id, right_id (record ids as strings), match_weight (log2 Bayes factors
    summed, prior included), match_probability, evidence (JSON: per comparison the level
    and its weight), decision ('auto_link' or 'review').
    """
    out = f"_c360m_links_{uuid.uuid4().hex[:8]}"
    score_links_into(con, table, mapping, config, out)
    try:
        frame = con.execute(f"select {', '.join(LINK_COLUMNS)} from {out}").df()
    finally:
        con.execute(f"drop table if exists {out}")
    frame["evidence"] = frame["evidence"].astype(str)
    return frame


def evidence_dict(evidence: str) -> dict:
    """Parse an evidence JSON string (convenience for reviewers and tests)."""
    return json.loads(evidence)

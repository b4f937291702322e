"""Probabilistic record linkage inside DuckDB: normalise -> block -> compare -> score.

`find_links` reads person records from a DuckDB table, writes its working tables as TEMP
tables on the given connection (dropped at the end), and returns scored candidate pairs.
All set work (normalisation through vectorised UDFs, blocking self-joins, comparison
levels, term frequencies, scoring) runs in DuckDB; only the aggregated comparison patterns
come to Python for Fellegi-Sunter estimation.

Over-merge guards on shared identifiers:
- term-frequency adjustment: an exact match on a common value (a family phone, a common
  surname) is worth only what its frequency says;
- shared identifiers: an email/phone/id value held by more than
  `shared_identifier_max_names` distinct names, or an email with a generic local part
  (info@, sales@ ...), contributes nothing, so it can never link records on its own.
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
    Comparison,
    build_blocking_rules,
    build_comparisons,
    personal_agreement,
    personal_agreement_sql,
)
from python_models.identity.matching.config import ColumnMapping, MatchConfig
from python_models.identity.matching.scoring import (
    FellegiSunterModel,
    estimate_m_by_em,
    estimate_u,
    expected_matches,
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


def _arrow_udf(fn: Callable[..., str | None]) -> Callable[[pa.Array], pa.Array]:
    # Cached per distinct value: names, cities and postcodes repeat a lot.
    cached = functools.lru_cache(maxsize=500_000)(fn)

    def udf(column: pa.Array) -> pa.Array:
        return pa.array([cached(v) for v in column.to_pylist()], type=pa.string())

    return udf


def _arrow_udf2(fn: Callable[..., str | None]) -> Callable[[pa.Array, pa.Array], pa.Array]:
    cached = functools.lru_cache(maxsize=500_000)(fn)

    def udf(first: pa.Array, second: pa.Array) -> pa.Array:
        values = zip(first.to_pylist(), second.to_pylist(), strict=True)
        return pa.array([cached(a, b) for a, b in values], type=pa.string())

    return udf


def _register_normalisers(con: duckdb.DuckDBPyConnection, prefix: str, config: MatchConfig):
    email = functools.partial(
        norm.normalise_email,
        strip_plus_addressing=config.strip_plus_addressing,
        gmail_remove_dots=config.gmail_remove_dots,
    )
    phone = functools.partial(
        norm.normalise_phone, default_country_code=config.default_country_code
    )
    birth = functools.partial(norm.normalise_birth_date, day_first=config.day_first_dates)
    one_arg = {
        "name": norm.normalise_name,
        "given": norm.canonical_given_name,
        "phonetic": norm.phonetic_key,
        "email": email,
        "postcode": norm.normalise_postcode,
        "birth": birth,
        "swapped": norm.swapped_birth_date,
        "street": norm.normalise_street,
        "text": norm.normalise_text,
    }
    names = []
    for key, fn in one_arg.items():
        name = f"{prefix}{key}"
        con.create_function(
            name,
            _arrow_udf(fn),
            ["VARCHAR"],
            "VARCHAR",
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
        names.append(name)
    con.create_function(
        f"{prefix}phone",
        _arrow_udf2(phone),
        ["VARCHAR", "VARCHAR"],
        "VARCHAR",
        type="arrow",
        null_handling="special",
        side_effects=False,
    )
    names.append(f"{prefix}phone")
    return names


def _col(mapping_column: str | None) -> str:
    if not mapping_column:
        return "null::varchar"
    return f'cast("{mapping_column}" as varchar)'


def _records_sql(table: str, mapping: ColumnMapping, p: str) -> str:
    """Normalised records: one row per input record with a dense integer `rid`."""
    raw_ids = "".join(
        f", {_col(col)} as other_id_raw_{i}" for i, col in enumerate(mapping.other_ids)
    )
    norm_ids = "".join(
        f", {p}text(other_id_raw_{i}) as other_id_{i}" for i in range(len(mapping.other_ids))
    )
    return f"""
    with source as (
        select row_number() over () - 1 as rid, cast("{mapping.record_id}" as varchar) as record_id,
            {_col(mapping.given_name)} as given_raw, {_col(mapping.family_name)} as family_raw,
            {_col(mapping.email)} as email_raw, {_col(mapping.phone)} as phone_raw,
            {_col(mapping.country)} as country_raw, {_col(mapping.street)} as street_raw,
            {_col(mapping.city)} as city_raw, {_col(mapping.postcode)} as postcode_raw,
            {_col(mapping.birth_date)} as birth_raw{raw_ids}
        from {table}
    ),
    normalised as (
        select rid, record_id,
            {p}given(given_raw) as given,
            {p}name(family_raw) as family,
            {p}phonetic(given_raw) as given_phonetic,
            {p}phonetic(family_raw) as family_phonetic,
            {p}email(email_raw) as email,
            {p}phone(phone_raw, country_raw) as phone,
            {p}street(street_raw) as street,
            {p}text(city_raw) as city,
            {p}postcode(postcode_raw) as postcode,
            {p}birth(birth_raw) as birth_date
            {norm_ids}
        from source
    )
    select *,
        {p}swapped(birth_date) as birth_date_swapped,
        nullif(split_part(email, '@', 1), '') as email_local,
        case when length(regexp_replace(phone, '\\D', '', 'g')) >= 7
             then right(regexp_replace(phone, '\\D', '', 'g'), 7) end as phone_suffix,
        case when length(postcode) >= 5 then left(postcode, length(postcode) - 3)
             else left(postcode, 2) end as postcode_district,
        left(given, 1) as given_initial,
        left(family, 1) as family_initial,
        left(given, 3) as given_prefix,
        left(family, 3) as family_prefix,
        coalesce(given, '') || '|' || coalesce(family, '') as name_key
    from normalised
    """


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
) -> None:
    """Per record: the frequency of each compared value (for TF adjustment) and, for
    identifiers, whether the value is shared by too many distinct names."""
    parts = []
    for c in comparisons:
        col = c.column
        parts.append(
            f"case when {col} is not null then count(*) over (partition by {col})::double"
            f" / count({col}) over () end as tf_{col}"
        )
        if c.is_identifier:
            generic = ""
            if col == "email":
                listed = ", ".join(f"'{v}'" for v in sorted(GENERIC_EMAIL_LOCAL_PARTS))
                generic = f" or email_local in ({listed})"
            parts.append(
                f"coalesce(count(distinct name_key) over (partition by {col})"
                f" > {config.shared_identifier_max_names}{generic}, false) as shared_{col}"
            )
    con.execute(
        f"create or replace temp table {out} as select *, {', '.join(parts)} from {records}"
    )


def _block(
    con: duckdb.DuckDBPyConnection,
    records: str,
    rules: dict[str, list[str]],
    config: MatchConfig,
    out: str,
    stats: LinkageStats,
) -> None:
    """Candidate pairs (l < r): union of the blocking rules' self-joins, deduplicated.

    A block larger than `max_block_size` is skipped for that rule; the skipped counts are
    reported so a user sees which keys were too common to block on.
    """
    selects = []
    for name, cols in rules.items():
        key = " || '|' || ".join(cols)
        not_null = " and ".join(f"{c} is not null" for c in cols)
        keyed = f"(select rid, {key} as k from {records} where {not_null})"
        sized = (
            f"(select k from {keyed} group by k having count(*) between 2 and "
            f"{config.max_block_size})"
        )
        skipped = con.execute(
            f"select count(*) from (select k from {keyed} group by k "
            f"having count(*) > {config.max_block_size})"
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
    con.execute(
        f"create or replace temp table {out} as select distinct l, r from {out}_all order by l, r"
    )
    con.execute(f"drop table {out}_all")


def _gamma_select(comparisons: list[Comparison]) -> str:
    return ",\n".join(f"({c.level_sql()})::tinyint as g_{c.column}" for c in comparisons)


def _patterns(
    con: duckdb.DuckDBPyConnection, sql: str, comparisons: list[Comparison]
) -> tuple[np.ndarray, np.ndarray]:
    gcols = ", ".join(f"g_{c.column}" for c in comparisons)
    frame = con.execute(f"select {gcols}, count(*) as n from ({sql}) group by all").df()
    patterns = frame[[f"g_{c.column}" for c in comparisons]].to_numpy(dtype=np.int64)
    return patterns, frame["n"].to_numpy(dtype=np.int64)


def _train(
    con: duckdb.DuckDBPyConnection,
    records: str,
    pairs: str,
    comparisons: list[Comparison],
    config: MatchConfig,
    n_records: int,
) -> FellegiSunterModel:
    gamma = _gamma_select(comparisons)
    con.execute(f"select setseed({(config.random_seed % 1000) / 1000})")
    draws = f"{records}_draws"
    # Materialised first: a CTE of random() would be re-evaluated inside the joins.
    con.execute(
        f"""create or replace temp table {draws} as
        select l, r from (
            select (random() * {n_records})::bigint % {n_records} as l,
                   (random() * {n_records})::bigint % {n_records} as r
            from range({min(config.u_sample_pairs, max(10_000, n_records * (n_records - 1) // 2))})
        ) where l <> r"""
    )
    random_pairs = f"""
        select {gamma} from {draws} d
        join {records} l on l.rid = d.l join {records} r on r.rid = d.r
    """
    u_patterns, u_counts = _patterns(con, random_pairs, comparisons)
    con.execute(f"drop table {draws}")
    n_levels = [len(c.levels) + 1 for c in comparisons]
    u = estimate_u(u_patterns, u_counts, n_levels)
    candidate = f"""
        select {gamma} from {pairs} p
        join {records} l on l.rid = p.l join {records} r on r.rid = p.r
    """
    m_patterns, m_counts = _patterns(con, candidate, comparisons)
    # EM sees the candidate pairs plus the random pairs: blocked pairs alone are mostly
    # matches, which leaves the non-match side unidentified and the m of disagreement levels
    # inflated; random pairs pin it down.
    train_patterns = np.vstack([m_patterns, u_patterns])
    model = estimate_m_by_em(
        train_patterns,
        np.concatenate([m_counts, u_counts]),
        u,
        names=[c.name for c in comparisons],
        max_iterations=config.em_max_iterations,
        tolerance=config.em_tolerance,
        eligible=personal_agreement(train_patterns, comparisons),
    )
    # Prior as in Splink: the chance that two random records match, from the expected number
    # of matches among candidates over all possible pairs.
    total_pairs = n_records * (n_records - 1) / 2
    matches = expected_matches(
        m_patterns, m_counts, model, personal_agreement(m_patterns, comparisons)
    )
    prior = float(np.clip(matches / total_pairs, 1e-12, 0.5))
    return dataclasses.replace(model, prior_probability=prior)


def _weight_sql(c: Comparison, weights: np.ndarray, u_exact: float, config: MatchConfig) -> str:
    """SQL for one comparison's weight (bits) given its level, with TF adjustment on the
    exact level and the shared-identifier guard."""
    g = f"g_{c.column}"
    exact = (
        f"{weights[0]:.6f} + least({config.tf_max_boost_bits}, "
        f"log2({u_exact:.12g} / greatest(l.tf_{c.column}, 1e-12)))"
    )
    if c.is_identifier:
        exact = f"case when l.shared_{c.column} then 0.0 else {exact} end"
    whens = " ".join(f"when {i} then {w:.6f}" for i, w in enumerate(weights) if i > 0)
    return f"(case {g} when -1 then 0.0 when 0 then {exact} {whens} end)"


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
    comparisons = build_comparisons(mapping)
    if not comparisons:
        raise ValueError("mapping names no attribute to compare; map at least one column")
    rules = build_blocking_rules(mapping)
    if not rules:
        raise ValueError(
            "mapping gives no blocking rule; map an email, phone, other id, or names with "
            "postcode/birth date"
        )
    udfs = _register_normalisers(con, prefix, config)
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats.seconds_by_step[step] = now - clock
        clock = now

    try:
        con.execute(
            f"create or replace temp table {records} as {_records_sql(table, mapping, prefix)}"
        )
        _check_record_ids(con, records, table, mapping.record_id)
        stats.records = con.execute(f"select count(*) from {records}").fetchone()[0]
        lap("normalise")
        _add_frequencies(con, records, comparisons, config, freq)
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
        model = _train(con, freq, pairs, comparisons, config, stats.records)
        stats.model = model
        lap("training")
        con.execute(_scoring_sql(comparisons, model, config, freq, pairs, out_table))
        counts = dict(
            con.execute(f"select decision, count(*) from {out_table} group by 1").fetchall()
        )
        stats.auto_links = int(counts.get("auto_link", 0))
        stats.review_links = int(counts.get("review", 0))
        lap("scoring")
        return stats
    finally:
        for t in (records, freq, pairs):
            con.execute(f"drop table if exists {t}")
        for name in udfs:
            con.remove_function(name)


def _scoring_sql(
    comparisons: list[Comparison],
    model: FellegiSunterModel,
    config: MatchConfig,
    records: str,
    pairs: str,
    out_table: str,
) -> str:
    weights = model.level_weights()
    weight_cols = ",\n".join(
        f"{_weight_sql(c, w, float(u[0]), config)} as w_{c.column}"
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
    review_weight = float(np.log2(config.review_probability / (1 - config.review_probability)))
    return f"""
    create or replace temp table {out_table} as
    with gamma as (
        select p.l, p.r, l.record_id as left_id, r.record_id as right_id,
            {_gamma_select(comparisons)}, {side_cols}
        from {pairs} p join {records} l on l.rid = p.l join {records} r on r.rid = p.r
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
                  and {personal_agreement_sql(comparisons)}
             then 'auto_link' else 'review' end as decision
    from scored
    where match_weight >= {review_weight:.6f}
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

"""Probabilistic record linkage inside DuckDB: prepare -> block -> compare -> train -> score.

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

import json
import time
import uuid
from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd

from python_models.identity.blocking import (
    block_pairs_into,
    build_blocking_rules,
    known_pair_stride,
)
from python_models.identity.comparisons import (
    Comparison,
    build_comparisons,
    comparison_levels_sql,
)
from python_models.identity.config import MatchConfig
from python_models.identity.mapping import ColumnMapping
from python_models.identity.prepare import add_frequencies_into, normalise_records_into
from python_models.identity.stats import LinkageStats
from python_models.identity.training import (
    FellegiSunterModel,
    cap_weights_along_chains,
    train_model,
)

LINK_COLUMNS = [
    "left_id",
    "right_id",
    "match_weight",
    "match_probability",
    "evidence",
    "decision",
]


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


def score_links_into(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen, immutable
    out_table: str = "match_links",
    known_group: str | None = None,
    held_lookups: Mapping[str, str] | None = None,
) -> LinkageStats:
    """Run the whole linkage and write scored pairs to TEMP table `out_table` (columns
    `LINK_COLUMNS`) on `con`. Returns sizes, timings and the trained model.

    `known_group` names an input column whose equal values mark records already known to be
    one person (the pipeline's deterministic clusters). Their pairs still train the model,
    so it learns what a match looks like from them, but are not scored or returned: a link
    between two records already joined would add nothing. `held_lookups`: normalised values
    the caller already holds, by role (`prepare.normalise_records_into`).
    """
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
        normalise_records_into(con, table, mapping, config, records, known_group, held_lookups)
        stats.records = con.execute(f"select count(*) from {records}").fetchone()[0]
        lap("normalise")
        non_null = add_frequencies_into(con, records, comparisons, config, freq)
        identifiers = [c.column for c in comparisons if c.is_identifier]
        if identifiers:
            shared = con.execute(
                "select "
                + ", ".join(f"count(distinct {c}) filter (shared_{c})" for c in identifiers)
                + f" from {records} inner join {freq} using (rid)"
            ).fetchone()
            stats.shared_identifiers = dict(zip(identifiers, map(int, shared), strict=True))
        lap("frequencies")
        stride = known_pair_stride(con, records, config) if known_group else 1
        block_pairs_into(con, records, rules, config, pairs, stats, known_stride=stride)
        stats.known_pair_stride = stride
        lap("blocking")
        if con.execute(f"select count(*) from {pairs}").fetchone()[0] == 0:
            con.execute(
                f"create or replace temp table {out_table} (left_id varchar, right_id varchar, "
                "match_weight double, match_probability double, evidence json, decision varchar)"
            )
            return stats
        # Comparison levels of every candidate pair, computed once for training and scoring.
        gamma_sql = comparison_levels_sql(
            comparisons,
            "p.l, p.r, coalesce(l.known_group = r.known_group, false) as known",
            f"from {pairs} p join {records} l on l.rid = p.l join {records} r on r.rid = p.r",
        )
        con.execute(f"create or replace temp table {gamma} as {gamma_sql}")
        scored, known = con.execute(
            f"select count(*) filter (not known), count(*) filter (known) from {gamma}"
        ).fetchone()
        # a sampled known pair stands for `stride` of them (estimates when stride > 1)
        stats.known_pairs = int(known) * stride
        stats.candidate_pairs = int(scored) + stats.known_pairs
        con.execute(f"drop table {pairs}")
        lap("comparison")
        model, guard = train_model(
            con, records, gamma, comparisons, config, stats.records, known_weight=stride
        )
        stats.model = model
        stats.household_guard = guard.as_metadata()
        lap("training")
        for sql in _scoring_sql(
            comparisons, model, config, records, freq, gamma, out_table, non_null, guard.on
        ):
            con.execute(sql)
        dropped, held = con.execute(f"select * from {out_table}_vetoes").fetchone()
        con.execute(f"drop table {out_table}_vetoes")
        stats.household_guard |= {"pairs_dropped": int(dropped), "pairs_held": int(held)}
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
    frequencies: str,
    gamma: str,
    out_table: str,
    non_null: dict[str, int],
    household_guard: bool = True,
) -> list[str]:
    """SQL that weights each candidate's levels, sums them with the prior, and keeps pairs
    at or above the review threshold with their evidence and decision; the household
    guard's vetoes are counted into `{out_table}_vetoes(dropped, held_for_review)`."""
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
    # the left record's value frequencies and shared flags (`prepare.add_frequencies_into`)
    side_cols = ", ".join(
        [f"f.tf_{c.column}" for c in comparisons]
        + [f"f.shared_{c.column}" for c in comparisons if c.is_identifier]
    )
    personal = [f"w_{c.column}" for c in comparisons if c.personal]
    # Household guard: shared-address evidence may not outvote the person's own attributes,
    # so an auto-link needs net positive evidence from the personal comparisons, and a pair
    # whose personal attributes disagree on balance (two members of one household: same
    # surname, address and phone, different given names) is not a plausible match at all, so
    # it is not returned for review either. Pairs with no personal evidence either way (a
    # side lacks those fields) still go to review.
    personal_sum = f"({' + '.join(personal)})" if personal and household_guard else "1.0"
    review_weight = float(np.log2(config.review_probability / (1 - config.review_probability)))
    scored_table = f"{out_table}_scored"
    probability = "pow(2, match_weight) / (1 + pow(2, match_weight))"
    return [
        f"""
    create or replace temp table {scored_table} as
    with gamma as (
        select l.record_id as left_id, r.record_id as right_id, g.*, {side_cols}
        from {gamma} g join {records} l on l.rid = g.l join {records} r on r.rid = g.r
        join {frequencies} f on f.rid = g.l
        -- pairs of records known to be one person trained the model; they need no link
        where not g.known
    ),
    weighted as (
        select left_id, right_id, {", ".join(f"g_{c.column}" for c in comparisons)},
            {weight_cols.replace("l.tf_", "tf_").replace("l.shared_", "shared_")}
        from gamma
    ),
    scored as (
        select *, {model.prior_weight:.6f} + {total} as match_weight from weighted
    )
    select left_id, right_id, match_weight, {personal_sum} as personal_weight,
        json_object({evidence}) as evidence
    from scored
    where match_weight >= {review_weight:.6f}
    """,
        f"""
    create or replace temp table {out_table}_vetoes as
    select
        count(*) filter (personal_weight < 0) as dropped,
        count(*) filter (personal_weight = 0 and {probability} >= {config.auto_link_probability})
            as held_for_review
    from {scored_table}
    """,
        f"""
    create or replace temp table {out_table} as
    select left_id, right_id, match_weight, {probability} as match_probability, evidence,
        case when {probability} >= {config.auto_link_probability} and personal_weight > 0
             then 'auto_link' else 'review' end as decision
    from {scored_table}
    where personal_weight >= 0
    """,
        f"drop table {scored_table}",
    ]


def find_links(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen, immutable
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

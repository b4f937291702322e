"""Blocking: which record pairs are compared at all.

Several loose rules (`build_blocking_rules`) are unioned, so a true pair needs to agree on
only one of them; a block over the size cap is skipped for its rule and reported, so
candidate pairs grow linearly with the records.
"""

from __future__ import annotations

import uuid

import duckdb
import pandas as pd

from python_models.identity.comparisons import LIST_KEY_COLUMNS, NAME_ONLY_RULE
from python_models.identity.config import MatchConfig
from python_models.identity.mapping import ColumnMapping
from python_models.identity.prepare import normalise_records_into
from python_models.identity.stats import LinkageStats


def build_blocking_rules(mapping: ColumnMapping) -> dict[str, list[str]]:
    """Blocking rules: name -> normalised columns that must all agree (and be non-null).

    Several loose rules are unioned, so a true pair needs to agree on only one of them; each
    rule's key is selective enough that, with the block-size cap, pairs grow linearly. A
    column in `LIST_KEY_COLUMNS` holds several keys per record; two records share a block
    when any of them agree.
    """
    rules: dict[str, list[str]] = {}
    has_names = bool(mapping.family_name or mapping.given_name)
    if mapping.email:
        rules["email"] = ["email"]
        rules["email_local_part"] = ["email_local"]
    if mapping.phone:
        rules["phone_last_7"] = ["phone_suffix"]
    for col, source, identifies_one in mapping.id_columns():
        rules[f"{'person' if identifies_one else 'shared'}_id_{source}"] = [col]
    # Either name's phonetic key, whichever field it sits in: a record whose given and family
    # names were entered the wrong way round, or whose other name has a typo, still shares
    # a block with the person's other records.
    if has_names and mapping.postcode:
        rules["postcode_name_phonetic"] = ["postcode", "name_phonetics"]
    # Birth date with a phonetic name key, not an initial: dates in use are few (~25k) and
    # initials skewed, so date + initial blocks grow with the data (measured: 4 pairs per
    # record at 300k records, against 0.7 for date + Metaphone, for the same recall).
    if has_names and mapping.birth_date:
        rules["birth_date_name_phonetic"] = ["birth_date", "name_phonetics"]
    if mapping.family_name and mapping.given_name:
        rules[NAME_ONLY_RULE] = ["name_phonetic_pair"]
    if mapping.birth_date and mapping.postcode:
        rules["birth_date_postcode"] = ["birth_date", "postcode"]
    # Street with its spaces removed: a space typed into or dropped from a street name
    # ("emily bulcock" / "emilybulcock") is common in keyed-in addresses.
    if mapping.street and mapping.postcode:
        rules["street_postcode_district"] = ["street_key", "postcode_district"]
    return rules


def block_keys_sql(records: str, cols: list[str], with_group: bool = False) -> str:
    """SQL (rid, s, k): each record's source and blocking key(s) for one rule, records
    lacking a part left out (with `with_group`, its known group `g` too). A list-valued
    column (`LIST_KEY_COLUMNS`) gives one key per element."""
    lists = [c for c in cols if c in LIST_KEY_COLUMNS]
    unnests = "".join(f", unnest({c}) as u_{c}(v)" for c in lists)
    parts = [f"u_{c}.v" if c in LIST_KEY_COLUMNS else c for c in cols]
    key = " || '|' || ".join(parts)
    not_null = " and ".join(f"{c} is not null" for c in cols if c not in LIST_KEY_COLUMNS)
    where = f" where {not_null}" if not_null else ""
    distinct = "distinct " if lists else ""
    group = ", known_group as g" if with_group else ""
    return f"(select {distinct}rid, source as s{group}, {key} as k from {records}{unnests}{where})"


def block_pairs_into(
    con: duckdb.DuckDBPyConnection,
    records: str,
    rules: dict[str, list[str]],
    config: MatchConfig,
    out: str,
    stats: LinkageStats,
    keep_rules: bool = False,
    known_stride: int = 1,
) -> None:
    """Candidate pairs (l < r): union of the blocking rules' self-joins, deduplicated (with
    the list of rules that paired them when `keep_rules`).

    With `known_stride` n > 1, of the pairs inside one known group (`known_group`) only a
    fixed 1-in-n sample is kept, the same whichever rules pair them (`_block_pairs_sql`,
    `known_pair_stride`).

    A block larger than `max_block_size` is skipped for that rule; the skipped counts are
    reported so a user sees which keys were too common to block on. With
    `config.link_type == "link_only"` only pairs of records from different sources are
    made.
    """
    # link-only: records of one source are never compared with each other
    other_source = " and a.s is distinct from b.s" if config.link_type == "link_only" else ""
    sampled = known_stride > 1
    keys, sizes = f"{out}_keys", f"{out}_sizes"
    con.execute(f"create or replace temp table {out}_all (l BIGINT, r BIGINT, rule VARCHAR)")
    for name, cols in rules.items():
        cap = config.max_name_block_size if name == NAME_ONLY_RULE else config.max_block_size
        # each rule's keys and block sizes once: the skipped count, and only the records of
        # blocks within the cap go into the self-join
        con.execute(
            f"create or replace temp table {keys} as "
            f"select * from {block_keys_sql(records, cols, with_group=sampled)}"
        )
        # a block whose records all sit in one known group makes known pairs only
        one_group = "min(g) = max(g) and count(g) = count(*)" if sampled else "false"
        con.execute(
            f"create or replace temp table {sizes} as select k, count(*) as n, "
            f"{one_group} as one_group from {keys} group by k having count(*) > 1"
        )
        skipped = con.execute(f"select count(*) from {sizes} where n > {cap}").fetchone()[0]
        stats.skipped_blocks_by_rule[name] = int(skipped)
        con.execute(f"""
            insert into {out}_all
            with blocked as materialized (
                select keys.*, sizes.one_group
                from {keys} as keys inner join {sizes} as sizes using (k)
                where sizes.n <= {cap}
            )
            {_block_pairs_sql(name, other_source, known_stride)}
        """)
    con.execute(f"drop table {keys}")
    con.execute(f"drop table {sizes}")
    for name, count in con.execute(f"select rule, count(*) from {out}_all group by 1").fetchall():
        stats.pairs_by_rule[name] = int(count)
    pairs = "l, r, list(distinct rule order by rule) as rules" if keep_rules else "distinct l, r"
    group = " group by l, r" if keep_rules else ""
    con.execute(
        f"create or replace temp table {out} as select {pairs} from {out}_all{group} order by l, r"
    )
    con.execute(f"drop table {out}_all")


def _block_pairs_sql(rule: str, other_source: str, known_stride: int) -> str:
    """The pairs (a.rid < b.rid) of the records of `blocked(rid, s, [g], k, one_group)` that
    share a key, labelled `rule`. With `known_stride` n > 1 a pair inside one known group is
    kept only when its smaller record's hash is 0 modulo n (every rule then keeps the same
    1-in-n sample), and in a block of a single known group only those records pair at all,
    so its other pairs are never made."""
    pairs = (
        f"select a.rid, b.rid, '{rule}' from {{a}} as a "
        f"inner join blocked as b on a.k = b.k and a.rid < b.rid{other_source}"
    )
    if known_stride <= 1:
        return pairs.format(a="blocked")
    kept = f"hash(a.rid) % {known_stride} = 0"
    mixed = pairs.format(a="blocked") + (
        f" and (not coalesce(a.g = b.g, false) or {kept}) where not a.one_group"
    )
    single = pairs.format(
        a=f"(select * from blocked where one_group and hash(rid) % {known_stride} = 0)"
    )
    return f"{mixed}\nunion all\n{single}"


def known_pair_stride(con: duckdb.DuckDBPyConnection, records: str, config: MatchConfig) -> int:
    """1 in how many pairs inside a known group blocking keeps (1: all of them), so that
    about `config.known_pair_sample` remain: the groups' pair count bounds how many of their
    pairs blocking can make. They train the model (each kept pair counted n times) but are
    never scored, and at 1M customers they were a third of all candidate pairs."""
    within = con.execute(
        f"select coalesce(sum(n * (n - 1) // 2), 0) from (select count(*) as n from {records} "
        "where known_group is not null group by known_group)"
    ).fetchone()[0]
    return max(1, -(-int(within) // config.known_pair_sample))


def candidate_pairs(
    con: duckdb.DuckDBPyConnection,
    table: str,
    mapping: ColumnMapping,
    config: MatchConfig = MatchConfig(),  # noqa: B008 - frozen, immutable
) -> pd.DataFrame:
    """The record pairs the blocking rules put side by side (`left_id`, `right_id`, `rules`
    that paired them): what to look at when a true pair was never even compared."""
    run = uuid.uuid4().hex[:8]
    records, pairs = f"_c360m_{run}_records", f"_c360m_{run}_pairs"
    stats = LinkageStats()
    try:
        normalise_records_into(con, table, mapping, config, records)
        block_pairs_into(
            con, records, build_blocking_rules(mapping), config, pairs, stats, keep_rules=True
        )
        return con.execute(
            f"select l.record_id as left_id, r.record_id as right_id, p.rules from {pairs} p "
            f"join {records} l on l.rid = p.l join {records} r on r.rid = p.r order by all"
        ).df()
    finally:
        for t in (records, pairs):
            con.execute(f"drop table if exists {t}")

"""Resolve person records into customers: links → guarded clusters → stable keys → tables.

`resolve_identities` reads `intermediate.int_person_records_unioned` and writes the
`identity.*` tables in one transaction. Set-shaped work runs in DuckDB SQL (see
`deterministic`, `guards`); only two integer columns per link cross into Python, for
connected components (scipy), and one (record id, cluster) pair per record, for the
stable key assignment (`keys`).

Order of work: deterministic links (SQL) → fuzzy links from the matcher, on one
representative per identical-PII group → fuzzy auto-links that contradict their records
(birth date, family name, personal mailbox) are rejected, and those that join two
conflicting deterministic clusters (two web accounts, two loyalty memberships, disjoint
birth dates, disjoint personal contacts) are demoted to review → connected components →
cluster-limit guard → stable keys → one write.

Over-merge guard tiers: clusters over the limits (`IdentityConfig.max_cluster_*`) are
rebuilt from their deterministic links only; if still over, their records stay apart.
Every link demoted by a guard is written with decision `review` and queued with its reason;
a rejected link keeps its reason in its evidence (`rejected_because`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from python_models.identity import deterministic as det
from python_models.identity import store
from python_models.identity.clustering import connected_components
from python_models.identity.config import IdentityConfig, MatchConfig
from python_models.identity.guards import FLAGGED, LABELS, guard_report
from python_models.identity.guards import flagged_clusters_sql as _flagged_sql
from python_models.identity.keys import assign_from_overlap, first_key_sql
from python_models.identity.mapping import ColumnMapping
from python_models.identity.normalise import canonical_given_name
from python_models.identity.predict import LINK_COLUMNS, score_links_into
from python_models.identity.prepare import (
    email_normaliser,
    normalise_distinct_into,
    phone_normaliser,
)

log = logging.getLogger(__name__)

DEFAULT_INPUT_TABLE = "intermediate.int_person_records_unioned"
PII_SOURCES: tuple[str, ...] = ("crm", "loyalty", "shop", "support")
FUZZY_INPUT = "_id_fuzzy_input"
FUZZY_RESULT = "_id_fuzzy_result"
FUZZY_RAW = "_id_fuzzy_links_raw"
FUZZY_LINKS = "_id_fuzzy_links"
CANDIDATES = "_id_candidate_links"
KEYS = "_id_cluster_keys"
ID_RULE_LABELS = "_id_source_id_labels"
BROWSERLESS_LABELS = "_id_browserless_labels"
# what a fuzzy linker returns: the matcher's link columns
FUZZY_RESULT_COLUMNS = tuple(LINK_COLUMNS)

# (connection, name of the PII records table) -> links table name, relation, DataFrame or
# Arrow, or a `FuzzyOutput` wrapping one of those with the linker's own figures
FuzzyLinker = Callable[[duckdb.DuckDBPyConnection, str], Any]


@dataclass(frozen=True)
class FuzzyOutput:
    """A fuzzy linker's links plus what it measured (for the run report and benchmarks)."""

    links: Any
    candidate_pairs: int = 0  # record pairs the blocking rules let through to scoring
    known_pairs: int = 0  # of those, pairs inside one deterministic cluster: not scored
    step_seconds: dict[str, float] = field(default_factory=dict)
    guards: dict[str, Any] = field(default_factory=dict)  # `LinkageStats.guards`


@dataclass
class IdentityRunReport:
    """What one resolution run did, for logs, Dagster metadata and the benchmark."""

    run_id: str
    as_of: str
    records: int = 0
    links_by_rule: dict[str, int] = field(default_factory=dict)
    links_by_decision: dict[str, int] = field(default_factory=dict)
    shared_values: int = 0
    shared_devices: int = 0
    fuzzy_records: int = 0
    candidate_pairs: int = 0
    known_pairs: int = 0
    clusters: int = 0
    largest_cluster: int = 0
    guarded_clusters: int = 0
    new_keys: int = 0
    kept_keys: int = 0
    merges: int = 0
    splits: int = 0
    records_removed: int = 0
    review_queue: int = 0
    fuzzy_status: str = "not run"
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    fuzzy_step_seconds: dict[str, float] = field(default_factory=dict)
    # what each over-merge guard did (`guards.guard_report`)
    guards: dict[str, Any] = field(default_factory=dict)
    matcher_guards: dict[str, Any] = field(default_factory=dict)

    @property
    def candidate_pairs_per_second(self) -> float:
        """Candidate pairs over the fuzzy stage's wall time (blocking, comparing, scoring)."""
        seconds = self.stage_seconds.get("fuzzy_links", 0.0)
        return self.candidate_pairs / seconds if seconds else 0.0

    def as_metadata(self) -> dict[str, Any]:
        """Flat dict of the figures (for Dagster metadata / JSON)."""
        return {
            "run_id": self.run_id,
            "records": self.records,
            "clusters": self.clusters,
            "largest_cluster": self.largest_cluster,
            "links_by_rule": self.links_by_rule,
            "links_by_decision": self.links_by_decision,
            "shared_values": self.shared_values,
            "shared_devices": self.shared_devices,
            "guarded_clusters": self.guarded_clusters,
            "new_keys": self.new_keys,
            "kept_keys": self.kept_keys,
            "merges": self.merges,
            "splits": self.splits,
            "records_removed": self.records_removed,
            "review_queue": self.review_queue,
            "fuzzy_status": self.fuzzy_status,
            "fuzzy_records": self.fuzzy_records,
            "candidate_pairs": self.candidate_pairs,
            "known_pairs": self.known_pairs,
            "candidate_pairs_per_second": round(self.candidate_pairs_per_second),
            "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "stage_seconds": {k: round(v, 2) for k, v in self.stage_seconds.items()},
            "fuzzy_step_seconds": {k: round(v, 2) for k, v in self.fuzzy_step_seconds.items()},
            "guards": self.guards,
        }


class _Stopwatch:
    def __init__(self, report: IdentityRunReport) -> None:
        self.report = report
        self.start = time.perf_counter()
        self.last = self.start
        self.cpu_start = time.process_time()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.report.stage_seconds[stage] = now - self.last
        self.last = now
        self.report.seconds = now - self.start
        # process CPU includes DuckDB's threads: wall time alone misleads on a busy machine
        self.report.cpu_seconds = time.process_time() - self.cpu_start


def parse_as_of(as_of: str | datetime) -> datetime:
    """`as_of` as a naive UTC datetime (the warehouse stores TIMESTAMP in UTC)."""
    moment = as_of if isinstance(as_of, datetime) else datetime.fromisoformat(str(as_of))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def new_run_id() -> str:
    """A fresh run id when the caller (e.g. Dagster) has none."""
    return f"identity-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def fuzzy_column_mapping() -> ColumnMapping:
    """The matcher's `ColumnMapping` for the fuzzy input table (`_run_fuzzy` builds it)."""
    return ColumnMapping(
        record_id="record_id",
        given_name="given_name",
        family_name="family_name",
        email="email",
        phone="phone",
        street="street",
        city="city",
        postcode="postcode",
        birth_date="birth_date",
        country="country",
    )


def matching_fuzzy_linker(
    con: duckdb.DuckDBPyConnection,
    table: str,
    config: MatchConfig | None = None,
    known_group: str | None = None,
    held_lookups: Mapping[str, str] | None = None,
) -> FuzzyOutput:
    """The project's probabilistic matcher (`predict.score_links_into`), scored straight
    into a temp table so pairs never round-trip through pandas. `resolve_identities` passes
    its `IdentityConfig.matching`, the deterministic cluster column as `known_group` and its
    email and phone lookups (`_matcher_lookups`)."""
    config = config or MatchConfig()
    stats = score_links_into(
        con,
        table,
        fuzzy_column_mapping(),
        config,
        FUZZY_RAW,
        known_group=known_group,
        held_lookups=held_lookups,
    )
    return FuzzyOutput(
        FUZZY_RAW,
        stats.candidate_pairs,
        stats.known_pairs,
        dict(stats.seconds_by_step),
        stats.guards(),
    )


def resolve_identities(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: str | datetime,
    *,
    config: IdentityConfig | None = None,
    input_table: str = DEFAULT_INPUT_TABLE,
    fuzzy_linker: FuzzyLinker | None = matching_fuzzy_linker,
) -> IdentityRunReport:
    """Link, cluster and key every person record; write the identity tables atomically.

    Re-running on unchanged input keeps every key and records no merges or splits.
    `fuzzy_linker=None` (or `config.use_fuzzy_links=False`) uses deterministic links only.
    """
    config = config or IdentityConfig()
    moment = parse_as_of(as_of)
    report = IdentityRunReport(run_id=run_id, as_of=moment.isoformat())
    watch = _Stopwatch(report)

    with _uncompressed_scratch(con):
        assignment, n_accepted = _resolve_into_scratch(
            con, input_table, config, fuzzy_linker, report, watch
        )
    statements = _write_statements(run_id, moment)
    _register(con, "_id_merges_df", _with_bridging_links(con, assignment.merges))
    _register(con, "_id_splits_df", assignment.splits)
    store.write_run(con, statements)
    _fill_report_counts(con, report, n_accepted)
    report.guards = guard_report(con, CANDIDATES, report.matcher_guards)
    _drop_scratch(con)
    watch.lap("write")
    store.log_run(con, report.run_id, moment, report.as_metadata())
    log.info("identity run %s: %s", run_id, report.as_metadata())
    return report


#: compression methods the scratch tables go without: DuckDB compresses every temp table it
#: writes, and FSST (strings) costs more CPU than it saves memory on tables read once or
#: twice (1M customers: 278.8 -> 264.4 CPU s, same peak memory; docs/benchmarks.md)
SCRATCH_UNCOMPRESSED = ("fsst", "dict_fsst")


@contextmanager
def _uncompressed_scratch(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Leave `SCRATCH_UNCOMPRESSED` off while the run builds its temp tables; the identity
    tables are written after, compressed as before."""
    before = con.execute("select current_setting('disabled_compression_methods')").fetchone()[0]
    methods = sorted({m for m in (before or "").split(",") if m} | set(SCRATCH_UNCOMPRESSED))
    con.execute(f"set disabled_compression_methods = {det.sql_literal(','.join(methods))}")
    try:
        yield
    finally:
        con.execute(f"set disabled_compression_methods = {det.sql_literal(before or '')}")


def _resolve_into_scratch(
    con: duckdb.DuckDBPyConnection,
    input_table: str,
    config: IdentityConfig,
    fuzzy_linker: FuzzyLinker | None,
    report: IdentityRunReport,
    watch: _Stopwatch,
) -> tuple[Any, int]:
    """Everything up to the write, in temp tables: links, clusters and keys (`report` is
    filled as it goes). Returns the key assignment and the number of accepted links."""
    optional_columns = _check_input(con, input_table)
    _normalise_identifiers(con, input_table, config.matching)
    con.execute(det.record_numbers_sql(input_table))
    _check_unique_records(con, input_table)
    con.execute(det.records_sql(input_table, config, optional_columns))
    _drop(con, det.RECORD_NUMBERS, det.PHONE_LOOKUP)
    store.ensure_identity_tables(con)
    report.records = _scalar(con, f"select count(*) from {det.RECORDS}")
    watch.lap("prepare_records")

    _store_canonical_given_names(con)
    con.execute(det.observations_sql())
    con.execute(det.shared_devices_sql())
    con.execute(det.shared_values_sql(config))
    con.execute(det.pii_records_sql(PII_SOURCES))
    _share_values_of_conflicting_customers(con, config, report)
    # built once, on the final shared values and observations
    con.execute(det.deterministic_edges_sql())
    report.shared_values = _scalar(con, f"select count(*) from {det.SHARED_VALUES}")
    report.shared_devices = _scalar(con, f"select count(distinct rid) from {det.SHARED_DEVICES}")
    fuzzy_wanted = fuzzy_linker is not None and config.use_fuzzy_links
    deterministic_labels = _deterministic_components(con, report.records, fuzzy_wanted)
    watch.lap("deterministic_links")

    fuzzy_available = _run_fuzzy(con, config, fuzzy_linker, report)
    _drop(con, FUZZY_INPUT, FUZZY_RESULT, FUZZY_RAW, det.EMAIL_LOOKUP)
    watch.lap("fuzzy_links")

    if fuzzy_available:
        _veto_contradicted_fuzzy_links(con, config)
    _collect_candidates(con, fuzzy_available)
    _drop(con, det.DETERMINISTIC_EDGES, det.PII_RECORDS, det.OBSERVATIONS, FUZZY_LINKS)
    n_accepted = _guarded_components(con, config, report, deterministic_labels)
    watch.lap("clusters")

    assignment = _assign_keys(con, report)
    watch.lap("stable_keys")
    return assignment, n_accepted


def _check_input(con: duckdb.DuckDBPyConnection, input_table: str) -> set[str]:
    """Fail with the missing column names if the input breaks the contract; return which
    optional list columns (`det.OPTIONAL_LIST_COLUMNS`) it has."""
    try:
        columns = {
            d[0].lower() for d in con.execute(f"select * from {input_table} limit 0").description
        }
    except duckdb.Error as exc:
        raise ValueError(f"identity input {input_table} cannot be read: {exc}") from exc
    missing = [c for c in det.INPUT_COLUMNS if c not in columns]
    if missing:
        raise ValueError(
            f"identity input {input_table} lacks contract columns {missing} "
            "(see docs/architecture.md, Identity)"
        )
    bad = _scalar(
        con,
        f"select count(*) from {input_table} where source_system is null "
        "or source_record_id is null or trim(source_record_id::VARCHAR) = ''",
    )
    if bad:
        raise ValueError(
            f"identity input {input_table}: {bad} rows have no source_system/source_record_id"
        )
    return {c for c in det.OPTIONAL_LIST_COLUMNS if c in columns}


def _normalise_identifiers(
    con: duckdb.DuckDBPyConnection, input_table: str, config: MatchConfig
) -> None:
    """Lookups of the input's distinct raw emails and (phone, country) pairs to their
    normalised forms, made by the one email and phone normalisers the matcher uses too."""
    normalise_distinct_into(
        con,
        f"(select email::VARCHAR as email_raw from {input_table})",
        email_normaliser("email_raw", config),
        det.EMAIL_LOOKUP,
    )
    normalise_distinct_into(
        con,
        f"(select phone::VARCHAR as phone_raw, country::VARCHAR as country_raw from {input_table})",
        phone_normaliser("phone_raw", "country_raw", config),
        det.PHONE_LOOKUP,
    )


def _check_unique_records(con: duckdb.DuckDBPyConnection, input_table: str) -> None:
    dupes = con.execute(det.duplicate_records_sql()).fetchall()
    if dupes:
        shown = ", ".join(f"{s}:{r} ×{n}" for s, r, n in dupes)
        raise ValueError(
            f"identity input {input_table}: (source_system, source_record_id) must be unique; "
            f"duplicates: {shown}"
        )


def canonical_given_names(given_keys: list[str]) -> list[str]:
    """Nicknames mapped to formal names ('mick' -> 'michael'), via the matcher's table."""
    return [canonical_given_name(name) or name for name in given_keys]


def _store_canonical_given_names(con: duckdb.DuckDBPyConnection) -> None:
    # distinct names only: a few thousand values even for millions of records
    names = con.execute(
        f"select distinct given_key from {det.RECORDS} where given_key is not null"
    ).fetchnumpy()["given_key"]
    names = [str(n) for n in names]
    table = pa.table(
        {
            "given_key": pa.array(names, pa.string()),
            "canonical": pa.array(canonical_given_names(names), pa.string()),
        }
    )
    _register(con, "_id_given_canonical_arrow", table)
    con.execute(
        f"create or replace temp table {det.GIVEN_CANONICAL} as "
        "select * from _id_given_canonical_arrow"
    )
    con.unregister("_id_given_canonical_arrow")


def _run_fuzzy(
    con: duckdb.DuckDBPyConnection,
    config: IdentityConfig,
    fuzzy_linker: FuzzyLinker | None,
    report: IdentityRunReport,
) -> bool:
    if fuzzy_linker is None or not config.use_fuzzy_links:
        report.fuzzy_status = "disabled"
        return False
    # one representative per identical-PII group: repeat orders add nothing to score
    con.execute(f"""
        create or replace temp table {FUZZY_INPUT} as
        select
            rid as record_id, source_system, given_name, family_name,
            -- a generic value says nothing about who a record is, and a value used by
            -- different people is no evidence for the matcher either
            {det.trusted_contact_sql("email")} as email,
            {det.trusted_contact_sql("phone")} as phone,
            street, city, postcode, country, strftime(birth_date, '%Y-%m-%d') as birth_date,
            -- records one deterministic cluster already joins train the matcher but are not
            -- scored: at 1M customers 93 % of its links fell inside such a cluster
            l.component as known_group
        from {det.PII_RECORDS} as p
        inner join {det.RECORDS} as r using (rid)
        inner join {det.DETERMINISTIC_LABELS} as l using (rid)
        where rid = representative_rid
        -- a fixed row order: the matcher numbers its input rows
        order by rid
    """)
    report.fuzzy_records = _scalar(con, f"select count(*) from {FUZZY_INPUT}")
    try:
        if fuzzy_linker is matching_fuzzy_linker:
            result = matching_fuzzy_linker(
                con, FUZZY_INPUT, config.matching, "known_group", _matcher_lookups()
            )
        else:
            result = fuzzy_linker(con, FUZZY_INPUT)
    except ImportError as exc:
        report.fuzzy_status = f"unavailable: {exc}"
        log.warning("fuzzy matcher unavailable, deterministic links only: %s", exc)
        return False
    if isinstance(result, FuzzyOutput):
        report.candidate_pairs = result.candidate_pairs
        report.known_pairs = result.known_pairs
        report.fuzzy_step_seconds = result.step_seconds
        report.matcher_guards = result.guards
        result = result.links
    if isinstance(result, str):
        source = result
    else:
        _materialise(con, result, FUZZY_RESULT)
        source = FUZZY_RESULT
    columns = {d[0] for d in con.execute(f"select * from {source} limit 0").description}
    missing = [c for c in FUZZY_RESULT_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"fuzzy linker result lacks columns {missing}; has {sorted(columns)}")
    # the links in candidate form, so the vetoes below update these rows, not every link
    con.execute(f"""
        create or replace temp table {FUZZY_LINKS} as
        select
            least(left_id::BIGINT, right_id::BIGINT) as left_rid,
            greatest(left_id::BIGINT, right_id::BIGINT) as right_rid,
            'fuzzy' as rule,
            match_weight::DOUBLE as match_weight,
            match_probability::DOUBLE as match_probability,
            evidence::JSON as evidence,
            decision::VARCHAR as decision,
            null::VARCHAR as queue_reason
        from {source}
        where left_id <> right_id and decision in ('auto_link', 'review')
    """)
    report.fuzzy_status = "ok"
    return True


def _matcher_lookups() -> dict[str, str]:
    """The emails and phones of the fuzzy input, which the pipeline normalised with the
    matcher's own normalisers (`_normalise_identifiers`), as the matcher's lookups: each
    value is its own normal form (normalising is idempotent), with the flags already known,
    so the matcher does not run the normalisers over them again (~5 s at 1M customers)."""
    return {
        "email": f"""
            select distinct email as k0, email, email_generic
            from {det.EMAIL_LOOKUP} where email is not null""",
        "phone": f"""
            select distinct phone as k0, country as k1, phone
            from {FUZZY_INPUT} where phone is not null""",
    }


def _materialise(con: duckdb.DuckDBPyConnection, result: Any, name: str) -> None:
    if isinstance(result, str):
        con.execute(f"create or replace temp table {name} as select * from {result}")
    elif isinstance(result, duckdb.DuckDBPyRelation):
        con.execute(f"create or replace temp table {name} as select * from result")
    else:
        _register(con, "_id_fuzzy_result_df", result)
        con.execute(f"create or replace temp table {name} as select * from _id_fuzzy_result_df")
        con.unregister("_id_fuzzy_result_df")


def _collect_candidates(con: duckdb.DuckDBPyConnection, with_fuzzy: bool) -> None:
    """All links considered this run, one row per (left_rid < right_rid) pair.

    A pair named by several kinds of link keeps the most trusted: a deterministic edge,
    else an identical-PII link, else a rejected shared-device link, else a fuzzy link.
    Each kind names a pair at most once (the edges and PII links are one per pair by
    construction, fuzzy links one per scored pair) except the shared-device links, which
    are ranked among themselves; the others are kept by anti joins with the pairs a more
    trusted kind names, which costs a fraction of ranking every link.
    """
    fuzzy = (
        f"""
        union all
        select
            left_rid, right_rid, rule, match_weight, match_probability, evidence, decision,
            queue_reason
        from {FUZZY_LINKS}
        anti join trusted using (left_rid, right_rid)
        """
        if with_fuzzy
        else ""
    )
    # evidence stays JSON (as every linker makes it) so the write does not re-parse it
    con.execute(f"""
        create or replace temp table {CANDIDATES} as
        with edges as (
            select
                least(left_rid, right_rid) as left_rid, greatest(left_rid, right_rid) as right_rid,
                rule, evidence::JSON as evidence
            from {det.DETERMINISTIC_EDGES}
        ),
        pii as (
            select left_rid, right_rid, rule, evidence::JSON as evidence
            from ({det.pii_exact_edges_sql()})
            anti join edges using (left_rid, right_rid)
        ),
        -- a pair of shared-device links named twice keeps its rule of higher priority (both
        -- rules are in the map)
        device as (
            select unnest(best) from (
                select arg_min(
                    {{'left_rid': left_rid, 'right_rid': right_rid, 'rule': rule,
                      'evidence': evidence::JSON}},
                    {det.rule_priority_sql()}[rule]
                ) as best
                from ({det.shared_device_links_sql()})
                group by left_rid, right_rid
            )
        ),
        rejected as (
            select * from device
            anti join edges using (left_rid, right_rid)
            anti join pii using (left_rid, right_rid)
        ),
        trusted as (
            select left_rid, right_rid from edges
            union all
            select left_rid, right_rid from pii
            union all
            select left_rid, right_rid from rejected
        )
        select
            left_rid, right_rid, rule, null::DOUBLE as match_weight,
            1.0::DOUBLE as match_probability, evidence, 'auto_link' as decision,
            null::VARCHAR as queue_reason
        from edges
        union all
        select left_rid, right_rid, rule, null, 1.0, evidence, 'auto_link', null from pii
        union all
        select left_rid, right_rid, rule, null, null, evidence, 'rejected', null from rejected
        {fuzzy}
    """)


def _store_component_labels(
    con: duckdb.DuckDBPyConnection, name: str, n_records: int, edges_sql: str
) -> None:
    """Connected components of the (left_rid, right_rid) pairs `edges_sql` selects, as temp
    table `name(rid, component)`."""
    links = con.execute(edges_sql).fetchnumpy()
    _store_labels(con, connected_components(n_records, links["left_rid"], links["right_rid"]), name)


def _share_values_of_conflicting_customers(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, report: IdentityRunReport
) -> None:
    """Mark emails/phones that two conflicting source-id customers carry as shared, and keep
    browsers that two conflicting customers used out of both (see
    `det.conflicting_values_sql`, `det.conflicting_browsers_sql`).

    Both checks cluster the observations as they stand before either check changes them
    (the customers a browser would bridge; the source-id customers); the deterministic
    edges are built afterwards, once, on what they leave trusted.
    """
    if config.identifier_link_conflicts:
        _store_component_labels(
            con,
            ID_RULE_LABELS,
            report.records,
            det.identifier_star_links_sql(det.IDENTITY_ID_TYPES),
        )
    _reject_browsers_of_conflicting_customers(con, config, report)
    sql = det.conflicting_values_sql(
        ID_RULE_LABELS, config.identifier_link_conflicts, config.shared_value_max_variants
    )
    if sql:
        con.execute(sql)
    _drop(con, ID_RULE_LABELS)


def _reject_browsers_of_conflicting_customers(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, report: IdentityRunReport
) -> None:
    """Keep browsers whose login and purchases belong to two conflicting customers out of
    both (see `det.conflicting_browsers_sql`)."""
    sql = det.conflicting_browsers_sql(
        BROWSERLESS_LABELS, config.browser_conflicts, config.shared_value_max_variants
    )
    if sql is None:
        return
    # the customers a browser would bridge: clusters of everything but purchase browsers
    _store_component_labels(
        con, BROWSERLESS_LABELS, report.records, det.identifier_star_links_sql()
    )
    con.execute(sql)
    _drop(con, BROWSERLESS_LABELS)
    if _scalar(con, f"select count(*) from {det.SHARED_BROWSERS}"):
        for statement in det.reject_shared_browsers_sql():
            con.execute(statement)
    _drop(con, det.SHARED_BROWSERS)


def _deterministic_components(
    con: duckdb.DuckDBPyConnection, n_records: int, store: bool
) -> np.ndarray:
    """Component label per record from the deterministic auto-links alone; with `store`,
    also as temp table `det.DETERMINISTIC_LABELS` (the matcher's known groups, and what the
    fuzzy vetoes compare)."""
    # the pairs `_collect_candidates` will hold as deterministic auto-links
    links = con.execute(f"""
        select left_rid, right_rid from {det.DETERMINISTIC_EDGES}
        union all
        select left_rid, right_rid from ({det.pii_exact_edges_sql()})
    """).fetchnumpy()
    labels = connected_components(n_records, links["left_rid"], links["right_rid"])
    if store:
        _store_labels(con, labels, det.DETERMINISTIC_LABELS)
    return labels


def _veto_contradicted_fuzzy_links(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    """Demote fuzzy auto-links that contradict the records or deterministic clusters they join
    (before they join the other links: a pair a deterministic link also names keeps that
    link whatever the veto says)."""
    for sql in (
        det.fuzzy_vetoes_sql(FUZZY_LINKS, config.fuzzy_vetoes),
        det.cluster_conflicts_sql(FUZZY_LINKS, config.cluster_conflicts),
    ):
        if sql:
            con.execute(sql)


def _merge_components(base: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Components of the base components (`base`: label per record, the smallest member)
    joined by the links left[i]-right[i]; labels stay the smallest member record."""
    merged = connected_components(len(base), base[left], base[right])
    return merged[base]


def _guarded_components(
    con: duckdb.DuckDBPyConnection,
    config: IdentityConfig,
    report: IdentityRunReport,
    deterministic_labels: np.ndarray,
) -> int:
    """Cluster on accepted links, demoting links of over-limit clusters to review.

    The deterministic components are given; only the fuzzy auto-links are read here, and
    the deterministic links only of clusters that even their deterministic links leave
    over the limits (whose records then stay apart).
    """
    n = report.records
    fuzzy = con.execute(
        f"select left_rid, right_rid from {CANDIDATES} "
        "where decision = 'auto_link' and rule = 'fuzzy'"
    ).fetchnumpy()
    left = np.asarray(fuzzy["left_rid"], dtype=np.int64)
    right = np.asarray(fuzzy["right_rid"], dtype=np.int64)
    keep = np.ones(len(left), dtype=bool)
    n_deterministic = _scalar(
        con,
        f"select count(*) from {CANDIDATES} where decision = 'auto_link' and rule <> 'fuzzy'",
    )
    demoted: list[pd.DataFrame] = []
    labels = _merge_components(deterministic_labels, left, right)
    flagged = _flag_clusters(con, config, labels)
    if not flagged.empty:
        # tier 1: a flagged cluster is rebuilt from its deterministic links only
        report.guarded_clusters += len(flagged)
        reasons = flagged.set_index("component")["reason"]
        drop = np.isin(labels[left], flagged["component"].to_numpy())
        demoted.append(_demoted_links(left[drop], right[drop], reasons, labels))
        keep &= ~drop
        labels = _merge_components(deterministic_labels, left[keep], right[keep])
        flagged = _flag_clusters(con, config, labels)
    if not flagged.empty:
        # tier 2: still over the limits on deterministic links alone: its records stay apart
        in_flagged = np.isin(labels, flagged["component"].to_numpy())
        reasons = flagged.set_index("component")["reason"]
        apart = con.execute(f"""
            select c.left_rid, c.right_rid
            from {CANDIDATES} as c
            inner join {LABELS} as l on l.rid = c.left_rid
            semi join {FLAGGED} as f using (component)
            where c.decision = 'auto_link' and c.rule <> 'fuzzy'
        """).fetchnumpy()
        apart_left = np.asarray(apart["left_rid"], dtype=np.int64)
        apart_right = np.asarray(apart["right_rid"], dtype=np.int64)
        drop = keep & in_flagged[left]
        demoted.append(
            _demoted_links(
                np.concatenate([apart_left, left[drop]]),
                np.concatenate([apart_right, right[drop]]),
                reasons,
                labels,
            )
        )
        keep &= ~drop
        n_deterministic -= len(apart_left)
        labels = np.where(in_flagged, np.arange(n, dtype=np.int64), labels)
        _store_labels(con, labels)  # else `_flag_clusters` stored the final labels
    if demoted:
        _register(con, "_id_demoted_df", pd.concat(demoted, ignore_index=True))
        con.execute(f"""
            update {CANDIDATES} as c
            set decision = 'review', queue_reason = d.queue_reason
            from _id_demoted_df as d
            where c.left_rid = d.left_rid and c.right_rid = d.right_rid
        """)
        con.unregister("_id_demoted_df")
    sizes = np.bincount(labels) if n else np.zeros(0, dtype=np.int64)
    report.clusters = int(np.count_nonzero(sizes))
    report.largest_cluster = int(sizes.max()) if n else 0
    return n_deterministic + int(keep.sum())


def _demoted_links(
    left: np.ndarray, right: np.ndarray, reasons: pd.Series, labels: np.ndarray
) -> pd.DataFrame:
    """Links to queue for review with their cluster's guard reason."""
    return pd.DataFrame(
        {
            "left_rid": left,
            "right_rid": right,
            "queue_reason": reasons.reindex(labels[left]).to_numpy(),
        }
    )


def _flag_clusters(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, labels: np.ndarray
) -> pd.DataFrame:
    _store_labels(con, labels)
    con.execute(_flagged_sql(config))
    return con.execute(f"select component, reason from {FLAGGED}").df()


def _store_labels(con: duckdb.DuckDBPyConnection, labels: np.ndarray, name: str = LABELS) -> None:
    """Component label per record id, as temp table `name(rid, component)`."""
    table = pa.table({"rid": np.arange(len(labels), dtype=np.int64), "component": labels})
    _register(con, "_id_labels_arrow", table)
    con.execute(f"create or replace temp table {name} as select * from _id_labels_arrow")
    con.unregister("_id_labels_arrow")


def _assign_keys(con: duckdb.DuckDBPyConnection, report: IdentityRunReport):
    """Carry keys onto this run's clusters (`keys.assign_from_overlap`), grouping the records
    in SQL: only one row per cluster and per (previous key, cluster) reaches pandas."""
    clusters = con.execute(f"""
        select cluster_id, seed, cluster_records, {first_key_sql("seed")} as first_key
        from (
            select l.component as cluster_id, min(r.record_key) as seed,
                count(*) as cluster_records
            from {det.RECORDS} as r inner join {LABELS} as l using (rid)
            group by l.component
        )
    """).df()
    clusters = clusters.set_index("cluster_id")
    if store.previous_graph_exists(con):
        overlap = con.execute(f"""
            select g.customer_key, l.component as cluster_id, count(*) as records,
                min(g.first_linked_at) as first_linked_at
            from {store.GRAPH} as g
            inner join {det.RECORDS} as r using (source_system, source_record_id)
            inner join {LABELS} as l using (rid)
            group by all
        """).df()
        key_age = overlap.groupby("customer_key", sort=False)["first_linked_at"].min()
        overlap = overlap.drop(columns="first_linked_at")
        taken = con.execute(f"""
            select distinct customer_key from {store.GRAPH}
            union select merged_key from {store.MERGES}
        """).fetchnumpy()["customer_key"]
        report.records_removed = _scalar(
            con,
            f"select count(*) from {store.GRAPH} as g anti join {det.RECORDS} as r "
            "using (source_system, source_record_id)",
        )
    else:
        overlap = pd.DataFrame(
            {"customer_key": pd.Series(dtype=object), "cluster_id": pd.Series(dtype="int64"),
             "records": pd.Series(dtype="int64")}
        )  # fmt: skip
        key_age = pd.Series(dtype="datetime64[us]")
        taken = np.array([], dtype=object)
    assignment = assign_from_overlap(clusters, overlap, key_age, set(taken.tolist()))
    _register(con, "_id_cluster_keys_df", assignment.cluster_keys)
    con.execute(f"create or replace temp table {KEYS} as select * from _id_cluster_keys_df")
    con.unregister("_id_cluster_keys_df")
    origin = assignment.cluster_keys["key_origin"].value_counts()
    report.new_keys = int(origin.get("new", 0))
    report.kept_keys = int(origin.get("kept", 0))
    report.merges = len(assignment.merges)
    report.splits = len(assignment.splits)
    return assignment


def _with_bridging_links(con: duckdb.DuckDBPyConnection, merges: pd.DataFrame) -> pd.DataFrame:
    """Add to each merge's evidence the accepted links that tied the merged key's records to
    the rest of its new cluster (rule and record pair, at most five), so a steward can see
    why two customers became one."""
    if merges.empty:
        return merges
    _register(con, "_id_merged_keys_df", merges[["merged_key"]])
    bridges = con.execute(f"""
        with previous as (
            select r.rid, g.customer_key
            from {store.GRAPH} as g
            inner join {det.RECORDS} as r using (source_system, source_record_id)
        ),
        crossing as (
            select
                unnest(list_filter(
                    [pl.customer_key, pr.customer_key], lambda k: k is not null
                )) as merged_key,
                c.rule,
                l.record_key || ' ~ ' || r.record_key as pair
            from {CANDIDATES} as c
            inner join {det.RECORDS} as l on l.rid = c.left_rid
            inner join {det.RECORDS} as r on r.rid = c.right_rid
            left join previous as pl on pl.rid = c.left_rid
            left join previous as pr on pr.rid = c.right_rid
            where c.decision = 'auto_link'
                and pl.customer_key is distinct from pr.customer_key
        )
        select merged_key, list(distinct rule) as rules, list(pair)[1:5] as pairs
        from crossing
        semi join _id_merged_keys_df using (merged_key)
        group by merged_key
    """).df()
    con.unregister("_id_merged_keys_df")
    found = {row.merged_key: (list(row.rules), list(row.pairs)) for row in bridges.itertuples()}

    def enrich(row: pd.Series) -> str:
        evidence = json.loads(row["evidence"])
        rules, pairs = found.get(row["merged_key"], ([], []))
        return json.dumps({**evidence, "bridging_rules": sorted(rules), "bridging_pairs": pairs})

    return merges.assign(evidence=merges.apply(enrich, axis=1))


def _write_statements(run_id: str, moment: datetime) -> list[tuple[str, list]]:
    priority = det.rule_priority_sql()
    pair = """
        l.source_system, l.source_record_id, r.source_system, r.source_record_id
    """
    pair_join = f"""
        inner join {det.RECORDS} as l on l.rid = c.left_rid
        inner join {det.RECORDS} as r on r.rid = c.right_rid
    """
    graph = f"""
        insert into {store.GRAPH}
        with accepted as (
            -- a rule's preference (NULL for 'fuzzy', the one rule without one): aggregating
            -- integers costs less than `min_by` over the rule names
            select left_rid as rid, ({priority})[rule] as preference, match_probability
            from {CANDIDATES}
            where decision = 'auto_link'
            union all
            select right_rid, ({priority})[rule], match_probability from {CANDIDATES}
            where decision = 'auto_link'
        ),
        per_record as (
            select rid, min(preference) as preference, max(match_probability) as best_probability
            from accepted
            group by rid
        )
        select
            rec.source_system,
            rec.source_record_id,
            k.customer_key,
            case when p.rid is null then 'singleton'
                else coalesce(({det.priority_rule_sql()})[p.preference], 'fuzzy')
            end as link_method,
            case when p.rid is null or p.preference is not null then 1.0
                else p.best_probability end as confidence,
            coalesce(prev.first_linked_at, $as_of) as first_linked_at,
            $run_id as last_run_id,
            -- the run that first gave this record this key; a new key is a new provenance
            case when prev.customer_key = k.customer_key
                then coalesce(prev.first_run_id, prev.last_run_id) else $run_id end
                as first_run_id
        from {det.RECORDS} as rec
        inner join {LABELS} as lab using (rid)
        inner join {KEYS} as k on k.cluster_id = lab.component
        left join per_record as p using (rid)
        left join _id_previous_graph as prev using (source_system, source_record_id)
    """
    params = {"as_of": moment, "run_id": run_id}
    return [
        (
            f"""create or replace temp table _id_previous_graph as
            select source_system, source_record_id, first_linked_at, customer_key,
                first_run_id, last_run_id
            from {store.GRAPH}""",
            [],
        ),
        (
            f"""create or replace temp table _id_previous_links as
            select left_source_system, left_record_id, right_source_system, right_record_id,
                rule, decision, min(run_id) as run_id, min(linked_at) as linked_at
            from {store.LINKS} group by all""",
            [],
        ),
        (f"delete from {store.GRAPH}", []),
        (graph, params),
        (f"delete from {store.LINKS}", []),
        (
            f"""insert into {store.LINKS}
            select {pair}, c.rule, c.match_weight, c.match_probability,
                case when c.decision = 'rejected' and c.queue_reason is not null
                    then json_merge_patch(
                        c.evidence::JSON, json_object('rejected_because', c.queue_reason)
                    )
                    else c.evidence::JSON end,
                c.decision,
                -- an unchanged link (same pair, rule and decision) keeps the run that made it
                coalesce(prev.run_id, $run_id), coalesce(prev.linked_at, $as_of), $run_id
            from {CANDIDATES} as c {pair_join}
            left join _id_previous_links as prev
                on prev.left_source_system = l.source_system
                and prev.left_record_id = l.source_record_id
                and prev.right_source_system = r.source_system
                and prev.right_record_id = r.source_record_id
                and prev.rule = c.rule
                and prev.decision = c.decision""",
            params,
        ),
        (f"delete from {store.REVIEW_QUEUE}", []),
        (
            f"""insert into {store.REVIEW_QUEUE}
            select {pair}, c.match_weight, c.match_probability, c.evidence::JSON,
                coalesce(c.queue_reason, 'fuzzy_uncertain'), $as_of, $run_id
            from {CANDIDATES} as c {pair_join}
            inner join {LABELS} as left_label on left_label.rid = c.left_rid
            inner join {LABELS} as right_label on right_label.rid = c.right_rid
            -- a pair already joined through other links needs no decision
            where c.decision = 'review' and left_label.component <> right_label.component""",
            params,
        ),
        (
            f"""insert into {store.MERGES}
            select $as_of, $run_id, surviving_key, merged_key, evidence::JSON
            from _id_merges_df""",
            params,
        ),
        (
            f"""insert into {store.SPLITS}
            select $as_of, $run_id, original_key, new_key, evidence::JSON
            from _id_splits_df""",
            params,
        ),
    ]


def _fill_report_counts(
    con: duckdb.DuckDBPyConnection, report: IdentityRunReport, n_accepted: int
) -> None:
    report.links_by_rule = dict(
        con.execute(
            f"select rule, count(*) from {CANDIDATES} where decision = 'auto_link' "
            "group by rule order by rule"
        ).fetchall()
    )
    report.links_by_decision = dict(
        con.execute(
            f"select decision, count(*) from {CANDIDATES} group by decision order by decision"
        ).fetchall()
    )
    report.review_queue = _scalar(con, f"select count(*) from {store.REVIEW_QUEUE}")
    assert sum(report.links_by_rule.values()) == n_accepted


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: Any) -> None:
    con.register(name, frame)


def _drop(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Drop scratch tables once nothing later reads them: temp tables count against the
    memory limit, and what is over it spills to disk (1M customers: ~0.9 GB spilled)."""
    for name in tables:
        con.execute(f"drop table if exists {name}")


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    _drop(
        con,
        det.RECORDS,
        det.RECORD_NUMBERS,
        det.OBSERVATIONS,
        det.SHARED_VALUES,
        det.SHARED_DEVICES,
        det.DETERMINISTIC_EDGES,
        det.PII_RECORDS,
        det.GIVEN_CANONICAL,
        det.EMAIL_LOOKUP,
        det.PHONE_LOOKUP,
        det.DETERMINISTIC_LABELS,
        ID_RULE_LABELS,
        BROWSERLESS_LABELS,
        det.SHARED_BROWSERS,
        FUZZY_INPUT,
        FUZZY_RESULT,
        FUZZY_RAW,
        FUZZY_LINKS,
        CANDIDATES,
        LABELS,
        FLAGGED,
        KEYS,
        "_id_previous_graph",
    )
    for view in ("_id_merges_df", "_id_splits_df"):
        con.unregister(view)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    row = rows[0] if rows else None
    return int(row[0]) if row and row[0] is not None else 0

"""Over-merge guards on clusters: the cluster-limit check, and the report of what every
guard of a run did.

A cluster that is implausibly large or holds too many different people's given names is
almost always a chain of bad links (a shop's shared till email, a family phone). Such a
cluster is not merged: its weakest links go to the review queue instead (see `pipeline`).

`guard_report` collects, at the end of a run, what each guard did (identifier values
treated as shared, devices kept out, pairs the household guard dropped, fuzzy links vetoed,
links sent to review), for the run report stored in `identity.identity_runs`;
`guard_summary` says it in one line for the run's summary.
"""

from __future__ import annotations

import duckdb

from python_models.identity.config import IdentityConfig
from python_models.identity.deterministic import (
    GIVEN_CANONICAL,
    RECORDS,
    SHARED_DEVICES,
    SHARED_VALUES,
)

LABELS = "_id_labels"
FLAGGED = "_id_flagged_clusters"


def flagged_clusters_sql(config: IdentityConfig) -> str:
    """Clusters over the record limit or with too many distinct people-ish given names.

    Given names count as one person's name when they are nicknames of one formal name, similar
    (a typo) or one is a prefix of the other (an initial); each name is absorbed by a more
    frequent similar name. Needs `_id_given_canonical` (see `pipeline`).
    """
    max_records = config.max_cluster_records
    max_names = config.max_cluster_names
    similarity = config.people_name_similarity
    return f"""
create or replace temp table {FLAGGED} as
with sizes as (
    select component, count(*) as records, count(distinct r.given_key) as raw_names
    from {LABELS} as l
    inner join {RECORDS} as r using (rid)
    group by component
),
name_freq as (
    -- nicknames count as the formal name (Mick, Mike -> michael); the names as written are
    -- kept too, so a typo of a nickname ('aex' for 'alex') is still seen as similar
    select
        l.component,
        coalesce(n.canonical, r.given_key) as given_key,
        list(distinct r.given_key) as written,
        count(*) as freq
    from {LABELS} as l
    inner join {RECORDS} as r using (rid)
    inner join sizes as s using (component)
    left join {GIVEN_CANONICAL} as n on n.given_key = r.given_key
    where r.given_key is not null
        -- a given name that is the cluster's family name is a swapped record, not a person
        and r.given_key not in (
            select r2.family_key from {LABELS} as l2
            inner join {RECORDS} as r2 using (rid)
            where l2.component = l.component and r2.family_key is not null
        )
        and s.raw_names > {max_names}
        and s.records <= {max_records}
    group by all
),
absorbed as (
    select distinct a.component, a.given_key
    from name_freq as a
    inner join name_freq as b
        on a.component = b.component
        and (b.freq > a.freq or (b.freq = a.freq and b.given_key < a.given_key))
    where jaro_winkler_similarity(a.given_key, b.given_key) >= {similarity}
        or starts_with(b.given_key, a.given_key)
        or starts_with(a.given_key, b.given_key)
        or len(list_filter(a.written, lambda x: len(list_filter(b.written, lambda y:
            jaro_winkler_similarity(x, y) >= {similarity}
            or starts_with(x, y) or starts_with(y, x))) > 0)) > 0
),
people_names as (
    select component, count(*) as people_names
    from name_freq
    anti join absorbed using (component, given_key)
    group by component
)
select
    s.component,
    s.records,
    coalesce(p.people_names, s.raw_names) as people_names,
    case
        when s.records > {max_records}
            then 'cluster_limit: ' || s.records || ' records > {max_records}'
        else 'cluster_limit: ' || p.people_names || ' distinct given names > {max_names}'
    end as reason
from sizes as s
left join people_names as p using (component)
where s.records > {max_records} or p.people_names > {max_names}
"""


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(key): int(n) for key, n in con.execute(sql).fetchall()}


def _guarded_links_sql(candidates: str) -> str:
    """(guard, reason, links) over the links a guard changed, from their `queue_reason`
    ('fuzzy_veto: birth_date_conflict, family_name_conflict', 'cluster_conflict: ...',
    'cluster_limit: 512 records > 500'); a link with two reasons counts under both."""
    return f"""
with reasons as (
    select
        split_part(queue_reason, ': ', 1) as guard,
        trim(unnest(string_split(
            queue_reason[length(split_part(queue_reason, ': ', 1)) + 3:], ','
        ))) as reason
    from {candidates}
    where queue_reason is not null
)
select
    guard,
    case when guard <> 'cluster_limit' then reason
        when contains(reason, 'records') then 'records' else 'given_names' end as reason,
    count(*)
from reasons
group by all
order by all
"""


def guard_report(
    con: duckdb.DuckDBPyConnection, candidates: str, matcher: dict | None = None
) -> dict:
    """What each over-merge guard did in this run, from its scratch tables (before they are
    dropped) and the matcher's own figures (`LinkageStats.guards`, None when the
    matcher did not run).

    - `shared_values`: identifier values treated as shared (they link no one), per id type
      and reason (`generic_...`, `conflicting_customers`, ...);
    - `shared_devices`: browsers kept out of every customer, per reason;
    - `household_guard` and `matcher_shared_values`: the matcher's adaptive guards (on or
      off and why, pairs dropped and held for review; values the matcher itself treated as
      shared, per identifier);
    - `fuzzy_vetoes`: fuzzy auto-links rejected, per contradiction;
    - `cluster_conflicts`: fuzzy auto-links between two conflicting deterministic clusters,
      sent to review, per conflict;
    - `cluster_limits`: links of over-limit clusters sent to review, per limit (`records`,
      `given_names`);
    - `shared_device_links_rejected`: links through a shared device, rejected.
    """
    shared: dict[str, dict[str, int]] = {}
    for id_type, reason, n in con.execute(
        f"select id_type, reason, count(*) from {SHARED_VALUES} group by all order by all"
    ).fetchall():
        shared.setdefault(str(id_type), {})[str(reason)] = int(n)
    devices = _counts(
        con,
        f"select reason, count(distinct rid) from {SHARED_DEVICES} group by all order by all",
    )
    by_guard: dict[str, dict[str, int]] = {}
    for guard, reason, n in con.execute(_guarded_links_sql(candidates)).fetchall():
        by_guard.setdefault(str(guard), {})[str(reason)] = int(n)
    rejected_links = con.execute(
        f"select count(*) from {candidates} where decision = 'rejected' and queue_reason is null"
    ).fetchone()[0]
    matcher = matcher or {}
    return {
        "shared_values": shared,
        "shared_devices": devices,
        "household_guard": matcher.get("household_guard", {}),
        "matcher_shared_values": matcher.get("shared_identifiers", {}),
        "fuzzy_vetoes": by_guard.get("fuzzy_veto", {}),
        "cluster_conflicts": by_guard.get("cluster_conflict", {}),
        "cluster_limits": by_guard.get("cluster_limit", {}),
        "shared_device_links_rejected": int(rejected_links),
    }


def _sum_nested(values: dict) -> int:
    return sum(_sum_nested(v) if isinstance(v, dict) else int(v) for v in values.values())


def guard_summary(guards: dict) -> str:
    """One line: what the guards of a run did (`guard_report`), for the run's summary."""
    parts = []
    household = guards.get("household_guard") or {}
    if household:
        state = "on" if household.get("on") else "off"
        parts.append(
            f"household guard {state} ({household.get('reason', '')}): "
            f"{household.get('pairs_dropped', 0):,} pairs dropped, "
            f"{household.get('pairs_held', 0):,} held for review"
        )
    shared = guards.get("shared_values") or {}
    matcher_shared = guards.get("matcher_shared_values") or {}
    kinds = sorted(set(shared) | set(matcher_shared))
    if kinds:
        totals = {k: _sum_nested(shared.get(k, {})) + matcher_shared.get(k, 0) for k in kinds}
        per_kind = ", ".join(f"{kind} {n:,}" for kind, n in totals.items() if n)
        if per_kind:
            parts.append(f"ids treated as shared: {per_kind}")
    devices = _sum_nested(guards.get("shared_devices") or {})
    if devices:
        parts.append(f"shared devices {devices:,}")
    vetoes = guards.get("fuzzy_vetoes") or {}
    if vetoes:
        listed = ", ".join(f"{reason} {n:,}" for reason, n in vetoes.items())
        parts.append(f"fuzzy links vetoed: {listed}")
    for key, label in (
        ("cluster_conflicts", "sent to review, clusters conflict"),
        ("cluster_limits", "sent to review, cluster limits"),
    ):
        counts = guards.get(key) or {}
        if counts:
            parts.append(f"{label}: " + ", ".join(f"{r} {n:,}" for r, n in counts.items()))
    rejected = guards.get("shared_device_links_rejected", 0)
    if rejected:
        parts.append(f"links through shared devices rejected {rejected:,}")
    return "; ".join(parts) if parts else "no guard fired"

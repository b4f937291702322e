"""Over-merge guards on clusters: the cluster-limit check.

A cluster that is implausibly large or holds too many different people's given names is
almost always a chain of bad links (a shop's shared till email, a family phone). Such a
cluster is not merged: its weakest links go to the review queue instead (see `pipeline`).
"""

from __future__ import annotations

from python_models.identity.config import IdentityConfig
from python_models.identity.deterministic import GIVEN_CANONICAL, RECORDS

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

"""Deterministic identity links, built as DuckDB SQL over the unioned person records.

Each function here returns SQL text (pure, no I/O); `resolve` runs them in order against
one connection. The stages:

1. `record_numbers_sql` numbers every input record (`rid`, in source-record order) and
   `records_sql` joins to it the record's normalised email and phone (the Python
   normalisers of `normalise`, run once per distinct value) and given name.
2. `observations_sql` turns records into identifier observations `(rid, id_type, id_value,
   rule)`: email, phone, crm id, loyalty id, web user id, the user id a single-user
   anonymous device logged in as, and the browser an order was placed from (its purchase
   event names the order: a guest checkout identifies the browser too). Generic addresses
   (info@, noreply@ ...) are left out.
3. `shared_values_sql` finds emails, phones and browsers used by clearly different people
   (a household's landline, a family inbox or laptop): such values are not trusted on
   their own and are left to the fuzzy matcher, which sees names and birth dates too.
4. `deterministic_edges_sql` links every record to the smallest record sharing a value
   (O(n) edges, not all pairs), one row per record pair with every identifier they share.
5. `pii_records_sql` groups records whose personal details are identical field for field
   (repeat orders typed the same way): one representative per group is all the fuzzy
   matcher needs to see, and the others are linked to it as `pii_exact`, provided the
   details name a person (given and family name) and say more than a name.
6. `shared_device_links_sql`: an anonymous id seen logged in as two or more users is a
   shared device. It is attributed to no one (its record stays its own customer); the pairs
   are written as `rejected` links so the decision is visible. So is a browser whose login
   and purchases belong to two clearly different customers (`conflicting_browsers_sql`: a
   household member logs in on the head's laptop, the head checks out as a guest from it).
"""

from __future__ import annotations

from python_models.identity.config import IdentityConfig

# Prefix of every scratch table; temp tables live only in the resolving connection.
RECORDS = "_id_records"
RECORD_NUMBERS = "_id_record_numbers"
OBSERVATIONS = "_id_observations"
SHARED_VALUES = "_id_shared_values"
SHARED_DEVICES = "_id_shared_devices"
SHARED_BROWSERS = "_id_shared_browsers"
DETERMINISTIC_EDGES = "_id_deterministic_edges"
PII_RECORDS = "_id_pii_records"
GIVEN_CANONICAL = "_id_given_canonical"
EMAIL_LOOKUP = "_id_email_lookup"
PHONE_LOOKUP = "_id_phone_lookup"

# Rule names, in the order of preference when one pair shares several identifiers.
RULE_PRIORITY: dict[str, int] = {
    "crm_id": 1,
    "loyalty_id": 2,
    "web_user_id": 3,
    "anonymous_login": 4,
    "anonymous_purchase": 5,
    "email_exact": 6,
    "phone_exact": 7,
    "pii_exact": 8,
}


def rule_priority_sql() -> str:
    """SQL map literal rule -> preference (lower wins; 'fuzzy' has none)."""
    return "map {" + ", ".join(f"'{r}': {p}" for r, p in RULE_PRIORITY.items()) + "}"


def priority_rule_sql() -> str:
    """SQL map literal preference -> rule, the inverse of `rule_priority_sql`."""
    return "map {" + ", ".join(f"{p}: '{r}'" for r, p in RULE_PRIORITY.items()) + "}"


ID_TYPE_RULE: dict[str, str] = {
    "crm_id": "crm_id",
    "loyalty_id": "loyalty_id",
    "user_id": "web_user_id",
    "email": "email_exact",
    "phone": "phone_exact",
}
INPUT_COLUMNS: tuple[str, ...] = (
    "source_system",
    "source_record_id",
    "given_name",
    "family_name",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "country",
    "birth_date",
    "crm_id",
    "loyalty_id",
    "user_id",
    "anonymous_id",
    "observed_at",
)


def sql_literal(value: str) -> str:
    """A SQL string literal with embedded quotes escaped."""
    return "'" + value.replace("'", "''") + "'"


def one_edit_apart_sql(left: str, right: str) -> str:
    """SQL: whether `left` and `right` are at most one edit apart (Damerau: a substitution,
    insertion, deletion or adjacent transposition), exactly as `damerau_levenshtein(left,
    right) <= 1`. That function costs ~10 µs a pair, so exact cheap tests decide first:
    equal text; lengths more than one apart; equal lengths need hamming <= 1, or hamming 2
    confirmed as a transposition; lengths one apart need levenshtein <= 1. CASE evaluates a
    branch only for the rows that reach it."""
    return (
        f"(case when {left} = {right} then true"
        f" when abs(length({left}) - length({right})) > 1 then false"
        f" when length({left}) = length({right}) then (case"
        f" when hamming({left}, {right}) <= 1 then true"
        f" when hamming({left}, {right}) = 2 then damerau_levenshtein({left}, {right}) <= 1"
        " else false end)"
        f" else levenshtein({left}, {right}) <= 1 end)"
    )


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A SQL list literal (`['a', 'b']`), typed VARCHAR even when empty."""
    return "[" + ", ".join(sql_literal(v) for v in values) + "]::VARCHAR[]"


# Optional input columns: lists of ids a record was seen with (see INPUT_COLUMNS).
OPTIONAL_LIST_COLUMNS: tuple[str, ...] = ("linked_user_ids", "linked_anonymous_ids")


def _id_list_sql(column: str, present: bool) -> str:
    """A record's distinct non-empty ids of a list column; empty when the input lacks it."""
    if not present:
        return "[]::VARCHAR[]"
    return (
        f"list_distinct(list_filter(coalesce({column}::VARCHAR[], []::VARCHAR[]),"
        " lambda x: x is not null and trim(x) <> ''))"
    )


def record_numbers_sql(input_table: str) -> str:
    """`_id_record_numbers(source_system, source_record_id, copies, rid)`: one row per
    source record key, numbered in key order, with how often the input holds it.

    Numbered on the two key columns alone: a window ordered over the whole record would
    sort every column of every record (a third of building `_id_records`)."""
    return f"""
create or replace temp table {RECORD_NUMBERS} as
select
    source_system,
    source_record_id,
    copies,
    (row_number() over (order by source_system, source_record_id) - 1)::BIGINT as rid
from (
    select
        source_system::VARCHAR as source_system,
        source_record_id::VARCHAR as source_record_id,
        count(*) as copies
    from {input_table}
    group by all
)
"""


def records_sql(input_table: str, config: IdentityConfig, optional_columns: set[str]) -> str:
    """Normalise the input records into `_id_records`, numbered by `_id_record_numbers`.

    Needs `_id_record_numbers` (`record_numbers_sql`, with no key held twice) and the
    lookups `_id_email_lookup(k0, email, email_generic)` and `_id_phone_lookup(k0, k1,
    phone)` of the input's distinct raw emails and (phone, country) pairs, made by the one
    Python email and phone normalisers (see `pipeline`). `optional_columns`: which of
    OPTIONAL_LIST_COLUMNS the input has.
    """
    linked = (
        "list_distinct(list_filter("
        + _id_list_sql("linked_user_ids", "linked_user_ids" in optional_columns)
        + " || [nullif(trim(user_id::VARCHAR), '')], lambda x: x is not null))"
    )
    browsers = _id_list_sql("linked_anonymous_ids", "linked_anonymous_ids" in optional_columns)
    generic_phones = sql_list(config.matching.generic_phones)
    personal_providers = sql_list(config.personal_email_providers)
    return f"""
create or replace temp table {RECORDS} as
with source as (
    select
        source_system::VARCHAR as source_system,
        source_record_id::VARCHAR as source_record_id,
        nullif(trim(given_name::VARCHAR), '') as given_name,
        nullif(trim(family_name::VARCHAR), '') as family_name,
        nullif(trim(street::VARCHAR), '') as street,
        nullif(trim(city::VARCHAR), '') as city,
        nullif(trim(postcode::VARCHAR), '') as postcode,
        nullif(trim(country::VARCHAR), '') as country,
        try_cast(birth_date as DATE) as birth_date,
        nullif(trim(crm_id::VARCHAR), '') as crm_id,
        nullif(trim(loyalty_id::VARCHAR), '') as loyalty_id,
        nullif(trim(user_id::VARCHAR), '') as user_id,
        nullif(trim(anonymous_id::VARCHAR), '') as anonymous_id,
        {linked} as login_user_ids,
        {browsers} as purchase_anonymous_ids,
        email::VARCHAR as email_raw,
        phone::VARCHAR as phone_raw,
        country::VARCHAR as country_raw
    from {input_table}
),
normalised as (
    select
        s.* exclude (email_raw, phone_raw, country_raw),
        e.email as email_norm,
        coalesce(e.email_generic, false) as email_is_generic,
        p.phone as phone_norm,
        nullif(lower(strip_accents(s.given_name)), '') as given_key,
        nullif(lower(strip_accents(s.family_name)), '') as family_key
    from source as s
    left join {EMAIL_LOOKUP} as e on e.k0 = s.email_raw
    left join {PHONE_LOOKUP} as p
        on p.k0 = s.phone_raw and p.k1 is not distinct from s.country_raw
)
select
    k.rid,
    n.source_system || ':' || n.source_record_id as record_key,
    n.*,
    list_contains({generic_phones}, phone_norm) as phone_is_generic,
    -- the text the birth-date typo checks compare, made once per record
    strftime(birth_date, '%Y%m%d') as birth_ymd,
    -- a mailbox at a consumer mail provider belongs to one person (a work address may not)
    case when list_contains(
        {personal_providers}, split_part(split_part(email_norm, '@', 2), '.', 1)
    ) and not email_is_generic
    then email_norm end as email_personal
from normalised as n
inner join {RECORD_NUMBERS} as k using (source_system, source_record_id)
"""


def duplicate_records_sql() -> str:
    """Record keys that occur more than once in the input (a contract violation); needs
    `_id_record_numbers`."""
    return f"""
select source_system, source_record_id, copies
from {RECORD_NUMBERS}
where copies > 1
order by copies desc, source_system, source_record_id
limit 10
"""


def observations_sql() -> str:
    """Identifier observations: which record carries which identifier value."""
    return f"""
create or replace temp table {OBSERVATIONS} as
select distinct rid, id_type, id_value, rule from (
    select rid, 'email' as id_type, email_norm as id_value, 'email_exact' as rule
    from {RECORDS} where email_norm is not null and not email_is_generic
    union all
    select rid, 'phone', phone_norm, 'phone_exact'
    from {RECORDS} where phone_norm is not null and not phone_is_generic
    union all
    select rid, 'crm_id', crm_id, 'crm_id' from {RECORDS} where crm_id is not null
    union all
    select rid, 'loyalty_id', loyalty_id, 'loyalty_id' from {RECORDS}
    where loyalty_id is not null
    union all
    select rid, 'user_id', user_id, 'web_user_id' from {RECORDS}
    where user_id is not null and source_system <> 'web_anonymous'
    union all
    -- a device that only ever logged in as one user belongs to that user
    select rid, 'user_id', login_user_ids[1], 'anonymous_login' from {RECORDS}
    where source_system = 'web_anonymous' and len(login_user_ids) = 1
    union all
    -- a browser belongs to whoever placed an order from it (checks as for a shared phone)
    select rid, 'device', unnest(purchase_anonymous_ids), 'anonymous_purchase' from {RECORDS}
    where len(purchase_anonymous_ids) > 0
    union all
    select rid, 'device', anonymous_id, 'anonymous_purchase' from {RECORDS}
    where source_system = 'web_anonymous' and anonymous_id is not null
        and len(login_user_ids) <= 1
)
"""


def shared_devices_sql() -> str:
    """Anonymous devices seen logged in as two or more different users, one row per user."""
    return f"""
create or replace temp table {SHARED_DEVICES} as
select rid, unnest(login_user_ids) as user_id, 'logged_in_as_two_users' as reason
from {RECORDS}
where source_system = 'web_anonymous' and len(login_user_ids) > 1
"""


def shared_values_sql(config: IdentityConfig) -> str:
    """Emails, phones and browsers carried by records of clearly different people.

    Needs `_id_given_canonical(given_key, canonical)` (nicknames mapped to formal names).
    Two records are clearly different people when their given names differ (after nickname
    mapping; not a typo, not an initial or prefix, not given and family name swapped) and
    their birth dates do not agree; or when their birth dates differ by more than a typo or
    a day/month swap and their given names are not the same.
    """
    same_birth = """(
        a.birth_date is not null and b.birth_date is not null and (
            levenshtein(strftime(a.birth_date, '%Y%m%d'), strftime(b.birth_date, '%Y%m%d')) <= 1
            or (year(a.birth_date) = year(b.birth_date)
                and month(a.birth_date) = day(b.birth_date)
                and day(a.birth_date) = month(b.birth_date))
        ))"""
    return f"""
create or replace temp table {SHARED_VALUES} as
with observed as (
    select
        o.id_type,
        o.id_value,
        r.given_key,
        coalesce(n.canonical, r.given_key) as given_canonical,
        r.family_key,
        r.birth_date
    from {OBSERVATIONS} as o
    inner join {RECORDS} as r using (rid)
    left join {GIVEN_CANONICAL} as n using (given_key)
    where o.id_type in ('email', 'phone', 'device')
),
variants as (
    select
        *,
        row_number() over (
            partition by id_type, id_value order by given_key, family_key, birth_date
        ) as variant_no,
        count(*) over (partition by id_type, id_value) as variant_count
    from (
        select distinct id_type, id_value, given_key, given_canonical, family_key, birth_date
        from observed
        where given_key is not null or birth_date is not null
    )
),
pairs as (
    select
        a.id_type,
        a.id_value,
        a.given_canonical is not null and b.given_canonical is not null
            and a.given_canonical <> b.given_canonical
            and jaro_winkler_similarity(a.given_canonical, b.given_canonical)
                < {config.shared_name_similarity}
            and not starts_with(a.given_canonical, b.given_canonical)
            and not starts_with(b.given_canonical, a.given_canonical)
            and a.given_key is distinct from b.family_key
            and b.given_key is distinct from a.family_key
            as names_differ,
        a.birth_date is not null and b.birth_date is not null and not {same_birth}
            as births_differ,
        {same_birth} as births_agree,
        a.given_canonical is not distinct from b.given_canonical as same_given
    from variants as a
    inner join variants as b
        on a.id_type = b.id_type
        and a.id_value = b.id_value
        and a.variant_no < b.variant_no
    where a.variant_count between 2 and {config.shared_value_max_variants}
),
mailboxes as (
    -- consumer mailboxes seen with a phone or browser: one person rarely keeps two, a
    -- household has one each, so a phone or browser seen with two of them (beyond a typo)
    -- is the household's
    select distinct o.id_type, o.id_value, r.email_personal
    from {OBSERVATIONS} as o
    inner join {RECORDS} as r using (rid)
    where o.id_type in ('phone', 'device') and r.email_personal is not null
),
mailbox_counts as (
    select *, count(*) over (partition by id_type, id_value) as mailbox_count from mailboxes
),
mailbox_conflicts as (
    select a.id_type, a.id_value
    from mailbox_counts as a
    inner join mailbox_counts as b
        on a.id_type = b.id_type
        and a.id_value = b.id_value
        and a.email_personal < b.email_personal
    where a.mailbox_count between 2 and {config.shared_value_max_variants}
        and not {one_edit_apart_sql("a.email_personal", "b.email_personal")}
    union all
    select id_type, id_value from mailbox_counts
    where mailbox_count > {config.shared_value_max_variants}
),
conflicting_pairs as (
    select id_type, id_value
    from pairs
    where case
        -- a mailbox is personal far more often than a landline: for emails both the names
        -- and the known birth dates must disagree
        when id_type = 'email' and {config.email_conflict_needs_birth_dates}
            then names_differ and births_differ
        else (names_differ and not births_agree) or (births_differ and not same_given)
    end
)
select distinct id_type, id_value, 'different_people' as reason from conflicting_pairs
union all
select distinct id_type, id_value, 'different_mailboxes' as reason from mailbox_conflicts
union all
select distinct id_type, id_value, 'too_many_variants' as reason
from variants
where variant_count > {config.shared_value_max_variants}
"""


def deterministic_edges_sql() -> str:
    """Link each record to the smallest record sharing a trusted identifier value."""
    priority = rule_priority_sql()
    # aggregates and hash joins, not windows: a window partitioned by the identifier value
    # (or by the record pair) sorts every observation (every edge); `trusted` is read twice
    # and scanned twice, which costs less than materialising its ~12M rows (1M customers:
    # 16.1 -> 13.9 CPU s)
    return f"""
create or replace temp table {DETERMINISTIC_EDGES} as
with trusted as not materialized (
    select o.*
    from {OBSERVATIONS} as o
    anti join {SHARED_VALUES} as s using (id_type, id_value)
),
anchors as (
    select id_type, id_value, min(rid) as anchor_rid, arg_min(rule, rid) as anchor_rule
    from trusted
    group by id_type, id_value
),
edges as (
    select
        a.anchor_rid as left_rid,
        t.rid as right_rid,
        t.id_type,
        t.id_value,
        case
            when 'anonymous_login' in (t.rule, a.anchor_rule) then 'anonymous_login'
            else t.rule
        end as rule
    from trusted as t
    inner join anchors as a using (id_type, id_value)
    where t.rid <> a.anchor_rid
),
-- one row per pair: the strongest identifier they share is the rule and the evidence
strongest as (
    select
        left_rid,
        right_rid,
        arg_min(
            {{'rule': rule, 'id_type': id_type, 'id_value': id_value}},
            {{'preference': ({priority})[rule], 'id_type': id_type, 'id_value': id_value}}
        ) as best
    from edges
    group by left_rid, right_rid
)
select
    left_rid,
    right_rid,
    best.rule as rule,
    json_object(best.id_type, best.id_value) as evidence
from strongest
"""


def identifier_star_links_sql(id_types: tuple[str, ...] | None = None) -> str:
    """Pairs (record, smallest record sharing a trusted value) over the identifiers of
    `id_types` (None: every type but `device`), as `left_rid, right_rid`.

    They have the connected components of the deterministic edges of those identifiers
    (`deterministic_edges_sql` links each record to the same smallest record), without
    building the edges table, so the conflict checks can cluster before the edges are
    built once on the final shared values.
    """
    types = (
        f"o.id_type in ({', '.join(sql_literal(t) for t in id_types)})"
        if id_types is not None
        else "o.id_type <> 'device'"
    )
    return f"""
with trusted as materialized (
    select o.rid, o.id_type, o.id_value
    from {OBSERVATIONS} as o
    anti join {SHARED_VALUES} as s using (id_type, id_value)
    where {types}
),
anchors as (
    select id_type, id_value, min(rid) as anchor_rid from trusted group by id_type, id_value
)
select t.rid as left_rid, a.anchor_rid as right_rid
from trusted as t
inner join anchors as a using (id_type, id_value)
"""


def shared_device_links_sql() -> str:
    """Pairs to record as rejected links: (shared device record, a user's anchor record),
    and for a browser whose login and purchases conflict, (browser, each order placed
    from it)."""
    return f"""
select
    least(u.anchor_rid, d.rid) as left_rid,
    greatest(u.anchor_rid, d.rid) as right_rid,
    'anonymous_login' as rule,
    to_json({{
        'shared_device_user_id': d.user_id, 'rejected_because': 'shared_device: ' || d.reason
    }}) as evidence
from {SHARED_DEVICES} as d
inner join (
    select id_value as user_id, min(rid) as anchor_rid
    from {OBSERVATIONS}
    where id_type = 'user_id' and rule = 'web_user_id'
    group by all
) as u using (user_id)
union all
select
    least(o.rid, d.rid),
    greatest(o.rid, d.rid),
    'anonymous_purchase',
    to_json({{'device': o.id_value, 'rejected_because': 'shared_device: ' || d.reason}})
from {SHARED_DEVICES} as d
inner join {RECORDS} as b using (rid)
inner join {OBSERVATIONS} as o
    on o.id_type = 'device' and o.id_value = b.anonymous_id and o.rid <> d.rid
where d.reason = 'login_and_purchases_conflict'
"""


def pii_records_sql(sources: tuple[str, ...]) -> str:
    """`_id_pii_records(rid, representative_rid)`: the records with personal data (of
    `sources`), each with the representative of its identical-PII group (the smallest
    record of the group; the record itself when its details do not name a person).

    Generic emails and phones are left out of the comparison: they say nothing about who a
    record is. Narrow on purpose: the fuzzy input reads the representatives' details from
    `_id_records`.
    """
    return f"""
create or replace temp table {PII_RECORDS} as
with pii as (
    select
        rid,
        given_name,
        family_name,
        case when not email_is_generic then email_norm end as email,
        case when not phone_is_generic then phone_norm end as phone,
        street,
        city,
        postcode,
        country,
        birth_date
    from {RECORDS}
    where list_contains({sql_list(sources)}, source_system)
)
select
    rid,
    case
        when given_name is not null and family_name is not null and (
            email is not null or phone is not null or birth_date is not null
            or (street is not null and postcode is not null)
        ) then min(rid) over (
            partition by given_name, family_name, email, phone, street, city, postcode,
                country, birth_date
        )
        else rid
    end as representative_rid
from pii
"""


def pii_exact_edges_sql() -> str:
    """Links from each identical-PII record to its group's representative."""
    return f"""
select
    representative_rid as left_rid,
    rid as right_rid,
    'pii_exact' as rule,
    json_object('identical', 'given_name, family_name, email, phone, address, birth_date')
        as evidence
from {PII_RECORDS}
where rid <> representative_rid
"""


FUZZY_VETO_CONDITIONS: dict[str, str] = {
    "birth_date_conflict": """
        a.birth_date is not null and b.birth_date is not null
        and levenshtein(a.birth_ymd, b.birth_ymd) > 1
        and not (
            year(a.birth_date) = year(b.birth_date)
            and month(a.birth_date) = day(b.birth_date)
            and day(a.birth_date) = month(b.birth_date)
        )""",
    "family_name_conflict": """
        a.family_name is not null and b.family_name is not null
        and jaro_winkler_similarity(
            coalesce(a.family_key, ''), coalesce(b.family_key, '')
        ) < 0.85
        and not (a.given_key = coalesce(b.family_key, '')
            and b.given_key = coalesce(a.family_key, ''))""",
    "personal_email_conflict": """
        a.email_personal is not null and b.email_personal is not null
        and not """
    + one_edit_apart_sql("a.email_personal", "b.email_personal"),
    "contact_conflict": """
        a.email_norm is not null and b.email_norm is not null and a.email_norm <> b.email_norm
        and a.phone_norm is not null and b.phone_norm is not null
        and a.phone_norm <> b.phone_norm""",
}


def _check_known(selected: tuple[str, ...], conditions: dict[str, str], kind: str) -> None:
    """An unknown name is a configuration error that names the known ones."""
    unknown = sorted(set(selected) - set(conditions))
    if unknown:
        raise ValueError(f"unknown {kind} {unknown}; known: {sorted(conditions)}")


def _reason_cases(selected: tuple[str, ...], conditions: dict[str, str]) -> str:
    """`case when <condition> then '<name>' end` per selected name, comma-separated."""
    return ", ".join(f"case when {conditions[name]} then '{name}' end" for name in selected)


def fuzzy_vetoes_sql(candidates: str, vetoes: tuple[str, ...]) -> str | None:
    """UPDATE rejecting fuzzy auto-links whose records contradict each other.

    The matcher weighs agreement; a household (same surname and address, different birth
    dates) can score high on agreement alone, so hard contradictions get the last word.
    They are rejected, not queued: on the sample none of the vetoed pairs was one person,
    and at 1M customers they were half of a review queue of millions. The link keeps its
    evidence and the veto (`rejected_because`).
    """
    _check_known(vetoes, FUZZY_VETO_CONDITIONS, "fuzzy veto(es)")
    if not vetoes:
        return None
    reasons = _reason_cases(vetoes, FUZZY_VETO_CONDITIONS)
    return f"""
update {candidates} as c
set decision = 'rejected', queue_reason = 'fuzzy_veto: ' || v.reason
from (
    -- materialised: the reasons are worked out once per link (a pushed-down filter would
    -- evaluate the string comparisons twice)
    with reasons as materialized (
        select c.left_rid, c.right_rid, concat_ws(', ', {reasons}) as reason
        from {candidates} as c
        inner join {RECORDS} as a on a.rid = c.left_rid
        inner join {RECORDS} as b on b.rid = c.right_rid
        where c.rule = 'fuzzy' and c.decision = 'auto_link'
    )
    select * from reasons where reason <> ''
) as v
where c.left_rid = v.left_rid and c.right_rid = v.right_rid
"""


DETERMINISTIC_LABELS = "_id_deterministic_labels"
CLUSTER_CONFLICT_CONDITIONS: dict[str, str] = {
    "two_web_accounts": "a.web_accounts > 0 and b.web_accounts > 0",
    "two_loyalty_members": "a.loyalty_members > 0 and b.loyalty_members > 0",
    # no birth date of one cluster equals, or is a typo or day/month swap of, one of the other
    "birth_dates_disjoint": (
        "len(a.birth_dates) > 0 and len(b.birth_dates) > 0 "
        "and len(list_filter(a.birth_dates, lambda x: len(list_filter(b.birth_dates, "
        "lambda y: levenshtein(strftime(x, '%Y%m%d'), strftime(y, '%Y%m%d')) <= 1 "
        "or (year(x) = year(y) and month(x) = day(y) and day(x) = month(y)))) > 0)) = 0"
    ),
    # no mailbox of one cluster equals, or is one typo away from, a mailbox of the other
    "personal_emails_disjoint": (
        "len(a.personal_emails) > 0 and len(b.personal_emails) > 0 "
        "and len(list_filter(a.personal_emails, lambda x: len(list_filter(b.personal_emails, "
        f"lambda y: {one_edit_apart_sql('x', 'y')})) > 0)) = 0"
    ),
    "contacts_disjoint": (
        "len(a.emails) > 0 and len(b.emails) > 0 "
        "and len(list_intersect(a.emails, b.emails)) = 0 "
        "and len(a.phones) > 0 and len(b.phones) > 0 "
        "and len(list_intersect(a.phones, b.phones)) = 0"
    ),
}


# For each conflict above, what one of a cluster's records must have for the cluster to take
# part in it (each condition needs both clusters to have the thing): a value carried only
# by clusters without any of these cannot join two conflicting clusters, so the checks
# profile and pair only the clusters that have one. At 1M customers most clusters a shared
# value spans are single guest orders (no account, card or birth date).
CLUSTER_CONFLICT_RECORD_CONDITIONS: dict[str, str] = {
    "two_web_accounts": "r.source_system = 'web_user'",
    "two_loyalty_members": "r.source_system = 'loyalty'",
    "birth_dates_disjoint": "r.birth_date is not null",
    "personal_emails_disjoint": "r.email_personal is not null",
    "contacts_disjoint": "r.email_norm is not null or r.phone_norm is not null",
}
assert CLUSTER_CONFLICT_RECORD_CONDITIONS.keys() == CLUSTER_CONFLICT_CONDITIONS.keys()


# Source ids that say "this record is that record" on their own: customers built from these
# links alone are the people an email or phone may not join when they conflict.
IDENTITY_ID_RULES: tuple[str, ...] = ("crm_id", "loyalty_id", "web_user_id", "anonymous_login")
# the identifier types whose observations make those links (a user id: web_user_id, anonymous_login)
IDENTITY_ID_TYPES: tuple[str, ...] = ("crm_id", "loyalty_id", "user_id")


def trusted_contact_sql(kind: str) -> str:
    """SQL: the normalised email or phone (`kind`) of `_id_records` row `r`, NULL when
    it is generic or in `_id_shared_values` (a household's landline or family inbox says
    nothing about which person a record is)."""
    return (
        f"case when not r.{kind}_is_generic and r.{kind}_norm not in ("
        f"select id_value from {SHARED_VALUES} where id_type = {sql_literal(kind)}"
        f") then r.{kind}_norm end"
    )


def _cluster_profiles_cte(labels: str, touched: str, trusted_contacts: bool) -> str:
    """CTE `profiles` (no leading `with`): per cluster of `labels(rid, component)` that
    `touched(component)` names, what `CLUSTER_CONFLICT_CONDITIONS` compare.

    `trusted_contacts`: leave generic and shared emails/phones out of the contact lists (a
    household's landline or family inbox says nothing about which member a cluster is).
    """
    email, phone = "r.email_norm", "r.phone_norm"
    if trusted_contacts:
        email, phone = trusted_contact_sql("email"), trusted_contact_sql("phone")
    return f"""profiles as (
    select
        l.component,
        count(*) filter (r.source_system = 'web_user') as web_accounts,
        count(*) filter (r.source_system = 'loyalty') as loyalty_members,
        coalesce(list(distinct r.birth_date) filter (r.birth_date is not null), [])
            as birth_dates,
        coalesce(list(distinct r.contact_email) filter (r.contact_email is not null), [])
            as emails,
        coalesce(list(distinct r.contact_phone) filter (r.contact_phone is not null), [])
            as phones,
        coalesce(
            list(distinct r.email_personal) filter (r.email_personal is not null), []
        ) as personal_emails
    from {labels} as l
    semi join {touched} using (component)
    inner join (
        select
            rid, source_system, birth_date, email_personal,
            {email} as contact_email,
            {phone} as contact_phone
        from {RECORDS} as r
    ) as r using (rid)
    group by l.component
)"""


def _conflicting_spans_cte(
    spans: str, labels: str, conflicts: tuple[str, ...], max_customers: int
) -> str:
    """CTEs (no leading `with`) ending in `conflicting(id_type, id_value)`: the values of
    `spans(id_type, id_value, component)` carried by two clusters of `labels` that conflict
    (any of `conflicts`), or spread over more than `max_customers` clusters."""
    any_conflict = " or ".join(f"({CLUSTER_CONFLICT_CONDITIONS[name]})" for name in conflicts)
    can_conflict = " or ".join(
        f"({CLUSTER_CONFLICT_RECORD_CONDITIONS[name]})" for name in conflicts
    )
    # the clusters per value by an aggregate joined back, not a window (which sorts them all)
    return f"""counted as (
    select s.*, c.customers
    from {spans} as s
    inner join (
        select id_type, id_value, count(*) as customers from {spans} group by id_type, id_value
    ) as c using (id_type, id_value)
),
-- clusters with a record that can take part in one of the conflicts
eligible as (
    select distinct l.component
    from {labels} as l
    inner join {RECORDS} as r using (rid)
    where {can_conflict}
),
spread as (
    select * from counted
    semi join eligible using (component)
    where customers between 2 and {max_customers}
),
touched as (
    select distinct component from spread
),
{_cluster_profiles_cte(labels, "touched", trusted_contacts=False)},
conflicting as (
    select distinct x.id_type, x.id_value
    from spread as x
    inner join spread as y
        on x.id_type = y.id_type and x.id_value = y.id_value and x.component < y.component
    inner join profiles as a on a.component = x.component
    inner join profiles as b on b.component = y.component
    where {any_conflict}
    union
    select distinct id_type, id_value from counted
    where customers > {max_customers}
)"""


def conflicting_values_sql(
    labels: str, conflicts: tuple[str, ...], max_customers: int
) -> str | None:
    """INSERT into `_id_shared_values` the emails/phones/browsers of two source-id clusters
    that conflict (see `CLUSTER_CONFLICT_CONDITIONS`), reason `conflicting_customers`.

    Needs `labels(rid, component)`: clusters of the source-id links (crm, loyalty, web
    account, single-user device). Two customers of one name can share an
    address (reused, mistyped, generated from the name) without the name/birth-date check
    seeing it; when the records carrying the value belong to customers that each hold their
    own web account or loyalty card, or whose birth dates never agree, the value is shared.
    A value spread over more than `max_customers` clusters is shared without comparison.
    """
    _check_known(conflicts, CLUSTER_CONFLICT_CONDITIONS, "cluster conflict(s)")
    if not conflicts:
        return None
    return f"""
insert into {SHARED_VALUES}
with spans as (
    select o.id_type, o.id_value, l.component
    from {OBSERVATIONS} as o
    inner join {labels} as l using (rid)
    anti join {SHARED_VALUES} as s using (id_type, id_value)
    where o.id_type in ('email', 'phone', 'device')
    group by all
),
{_conflicting_spans_cte("spans", labels, conflicts, max_customers)}
select id_type, id_value, 'conflicting_customers' as reason from conflicting
"""


def conflicting_browsers_sql(
    labels: str, conflicts: tuple[str, ...], max_customers: int
) -> str | None:
    """CREATE `_id_shared_browsers(anonymous_id)`: browsers whose records (the browser,
    which sits with the account it logged in as, and the orders placed from it) belong to
    two clusters of `labels` that conflict (see `CLUSTER_CONFLICT_CONDITIONS`).

    Needs `labels(rid, component)`: clusters of the trusted identifiers other than
    browsers (`identifier_star_links_sql()`), i.e. the customers a browser would bridge. A
    household member who logs in on the head's laptop, where the head checks out as a
    guest, makes a browser that both people's evidence claims; a customer who logs in and
    also checks out as a guest is one cluster (their order's email or phone joins it) and
    makes no conflict. Values already shared are checked too: a shared purchase browser
    can still carry a login.
    """
    _check_known(conflicts, CLUSTER_CONFLICT_CONDITIONS, "cluster conflict(s)")
    if not conflicts:
        return None
    return f"""
create or replace temp table {SHARED_BROWSERS} as
with spans as (
    select o.id_type, o.id_value, l.component
    from {OBSERVATIONS} as o
    inner join {labels} as l using (rid)
    where o.id_type = 'device'
    group by all
),
{_conflicting_spans_cte("spans", labels, conflicts, max_customers)}
select id_value as anonymous_id from conflicting
"""


def reject_shared_browsers_sql() -> list[str]:
    """Statements that keep the browsers of `_id_shared_browsers` out of every customer:
    their purchases link no one (the value is shared, reason `conflicting_browser_users`)
    and a single login becomes a shared device (reason `login_and_purchases_conflict`),
    written as a rejected link. Run before the deterministic edges are built."""
    return [
        f"""
insert into {SHARED_VALUES}
select 'device', b.anonymous_id, 'conflicting_browser_users'
from {SHARED_BROWSERS} as b
anti join {SHARED_VALUES} as s on s.id_type = 'device' and s.id_value = b.anonymous_id
""",
        f"""
insert into {SHARED_DEVICES}
select r.rid, r.login_user_ids[1], 'login_and_purchases_conflict'
from {RECORDS} as r
semi join {SHARED_BROWSERS} as b using (anonymous_id)
where r.source_system = 'web_anonymous' and len(r.login_user_ids) = 1
""",
        f"""
delete from {OBSERVATIONS}
where rule = 'anonymous_login'
    and rid in (select rid from {SHARED_DEVICES} where reason = 'login_and_purchases_conflict')
""",
    ]


def cluster_conflicts_sql(
    candidates: str,
    conflicts: tuple[str, ...],
    rules: tuple[str, ...] = ("fuzzy",),
    labels: str = DETERMINISTIC_LABELS,
) -> str | None:
    """UPDATE demoting fuzzy auto-links that would join two conflicting deterministic clusters.

    Needs `labels(rid, component)`: clusters from deterministic links alone (or, for
    email/phone links, from source-id links alone); `rules` are the links checked.
    Two clusters that each hold a web account, or a loyalty membership, or whose known birth
    dates or whole contact details never overlap, are two people however alike their names
    and addresses look (a household, a common name on one street).
    """
    _check_known(conflicts, CLUSTER_CONFLICT_CONDITIONS, "cluster conflict(s)")
    if not conflicts:
        return None
    reasons = _reason_cases(conflicts, CLUSTER_CONFLICT_CONDITIONS)
    return f"""
update {candidates} as c
set decision = 'review', queue_reason = 'cluster_conflict: ' || v.reason
from (
    with fuzzy as (
        select c.left_rid, c.right_rid, la.component as left_cluster, lb.component as right_cluster
        from {candidates} as c
        inner join {labels} as la on la.rid = c.left_rid
        inner join {labels} as lb on lb.rid = c.right_rid
        where list_contains({sql_list(rules)}, c.rule) and c.decision = 'auto_link'
            and la.component <> lb.component
    ),
    touched as (
        select left_cluster as component from fuzzy
        union
        select right_cluster from fuzzy
    ),
    {_cluster_profiles_cte(labels, "touched", trusted_contacts=True)}
    select f.left_rid, f.right_rid, concat_ws(', ', {reasons}) as reason
    from fuzzy as f
    inner join profiles as a on a.component = f.left_cluster
    inner join profiles as b on b.component = f.right_cluster
) as v
where c.left_rid = v.left_rid and c.right_rid = v.right_rid and v.reason <> ''
"""

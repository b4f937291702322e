"""Deterministic identity links, built as DuckDB SQL over the unioned person records.

Each function here returns SQL text (pure, no I/O); `resolve` runs them in order against
one connection. The stages:

1. `records_sql` numbers every input record (`rid`, in source-record order) and normalises
   its email (plus-addressing, Gmail dots), phone and given name.
2. `observations_sql` turns records into identifier observations `(rid, id_type, id_value,
   rule)`: email, phone, crm id, loyalty id, web user id, and the user id a single-user
   anonymous device logged in as. Generic addresses (info@, noreply@ ...) are left out.
3. `shared_values_sql` finds emails and phones used by clearly different people (a
   household's landline, a family inbox): such values are not trusted on their own and are
   left to the fuzzy matcher, which sees names and birth dates too.
4. `deterministic_edges_sql` links every record to the smallest record sharing a value
   (O(n) edges, not all pairs), one row per record pair with every identifier they share.
5. `shared_device_links_sql`: an anonymous id seen logged in as two or more users is a
   shared device. It is attributed to no one (its record stays its own customer); the pairs
   are written as `rejected` links so the decision is visible.
"""

from __future__ import annotations

from python_models.identity.config import IdentityConfig

# Prefix of every scratch table; temp tables live only in the resolving connection.
RECORDS = "_id_records"
OBSERVATIONS = "_id_observations"
SHARED_VALUES = "_id_shared_values"
SHARED_DEVICES = "_id_shared_devices"
DETERMINISTIC_EDGES = "_id_deterministic_edges"

# Rule names, in the order of preference when one pair shares several identifiers.
RULE_PRIORITY: dict[str, int] = {
    "crm_id": 1,
    "loyalty_id": 2,
    "web_user_id": 3,
    "anonymous_login": 4,
    "email_exact": 5,
    "phone_exact": 6,
}
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


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A SQL list literal (`['a', 'b']`), typed VARCHAR even when empty."""
    return "[" + ", ".join(sql_literal(v) for v in values) + "]::VARCHAR[]"


def normalised_email_sql(column: str, config: IdentityConfig) -> str:
    """SQL expression: the email in `column` reduced to the form one mailbox always has."""
    email = f"lower(trim({column}))"
    local = f"split_part({email}, '@', 1)"
    domain = f"split_part({email}, '@', 2)"
    gmail = sql_list(config.gmail_domains)
    if config.strip_plus_tags:
        local = f"regexp_replace({local}, '\\+.*$', '')"
    if config.gmail_dot_rule:
        is_gmail = f"list_contains({gmail}, {domain})"
        local = f"(case when {is_gmail} then replace({local}, '.', '') else {local} end)"
        domain = f"(case when {is_gmail} then 'gmail.com' else {domain} end)"
    return (
        f"(case when regexp_full_match({email}, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') "
        f"and {local} <> '' then {local} || '@' || {domain} end)"
    )


def records_sql(input_table: str, config: IdentityConfig, has_linked_user_ids: bool) -> str:
    """Number and normalise the input records into `_id_records`."""
    linked = (
        "list_distinct(list_filter(coalesce(linked_user_ids::VARCHAR[], []::VARCHAR[])"
        " || [nullif(trim(user_id::VARCHAR), '')], lambda x: x is not null and x <> ''))"
        if has_linked_user_ids
        else "list_filter([nullif(trim(user_id::VARCHAR), '')], lambda x: x is not null)"
    )
    email_norm = normalised_email_sql("email", config)
    generic_locals = sql_list(config.generic_email_local_parts)
    generic_domains = sql_list(config.generic_email_domains)
    generic_phones = sql_list(config.generic_phones)
    return f"""
create or replace temp table {RECORDS} as
with source as (
    select
        source_system::VARCHAR as source_system,
        source_record_id::VARCHAR as source_record_id,
        nullif(trim(given_name::VARCHAR), '') as given_name,
        nullif(trim(family_name::VARCHAR), '') as family_name,
        nullif(trim(email::VARCHAR), '') as email,
        nullif(regexp_replace(phone::VARCHAR, '[^0-9+]', '', 'g'), '') as phone,
        nullif(trim(street::VARCHAR), '') as street,
        nullif(trim(city::VARCHAR), '') as city,
        nullif(trim(postcode::VARCHAR), '') as postcode,
        nullif(trim(country::VARCHAR), '') as country,
        try_cast(birth_date as DATE) as birth_date,
        nullif(trim(crm_id::VARCHAR), '') as crm_id,
        nullif(trim(loyalty_id::VARCHAR), '') as loyalty_id,
        nullif(trim(user_id::VARCHAR), '') as user_id,
        nullif(trim(anonymous_id::VARCHAR), '') as anonymous_id,
        {linked} as login_user_ids
    from {input_table}
),
normalised as (
    select
        *,
        {email_norm} as email_norm,
        case when regexp_full_match(phone, '\\+[1-9][0-9]{{6,14}}') then phone end
            as phone_norm,
        nullif(lower(strip_accents(given_name)), '') as given_key
    from source
)
select
    (row_number() over (order by source_system, source_record_id) - 1)::BIGINT as rid,
    source_system || ':' || source_record_id as record_key,
    *,
    email_norm is not null and (
        list_contains({generic_locals}, split_part(email_norm, '@', 1))
        or list_contains({generic_domains}, split_part(email_norm, '@', 2))
    ) as email_is_generic,
    list_contains({generic_phones}, phone_norm) as phone_is_generic
from normalised
"""


def duplicate_records_sql() -> str:
    """Record keys that occur more than once in the input (a contract violation)."""
    return f"""
select source_system, source_record_id, count(*) as copies
from {RECORDS}
group by all
having count(*) > 1
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
)
"""


def shared_devices_sql() -> str:
    """Anonymous devices seen logged in as two or more different users."""
    return f"""
create or replace temp table {SHARED_DEVICES} as
select rid, unnest(login_user_ids) as user_id
from {RECORDS}
where source_system = 'web_anonymous' and len(login_user_ids) > 1
"""


def shared_values_sql(config: IdentityConfig) -> str:
    """Emails and phones carried by records of clearly different people.

    Two records are clearly different people when their given names are dissimilar (and
    neither is a prefix of the other, so `J`/`Jo`/`John` are not), or their birth dates
    differ by more than one typo or a day/month swap.
    """
    return f"""
create or replace temp table {SHARED_VALUES} as
with observed as (
    select o.id_type, o.id_value, r.given_key, r.birth_date
    from {OBSERVATIONS} as o
    inner join {RECORDS} as r using (rid)
    where o.id_type in ('email', 'phone')
),
variants as (
    select
        id_type,
        id_value,
        given_key,
        birth_date,
        row_number() over (partition by id_type, id_value order by given_key, birth_date)
            as variant_no,
        count(*) over (partition by id_type, id_value) as variant_count
    from (
        select distinct id_type, id_value, given_key, birth_date
        from observed
        where given_key is not null or birth_date is not null
    )
),
conflicting_pairs as (
    select a.id_type, a.id_value
    from variants as a
    inner join variants as b
        on a.id_type = b.id_type
        and a.id_value = b.id_value
        and a.variant_no < b.variant_no
    where a.variant_count between 2 and {config.shared_value_max_variants}
        and (
            (
                a.given_key is not null and b.given_key is not null
                and jaro_winkler_similarity(a.given_key, b.given_key)
                    < {config.shared_name_similarity}
                and not starts_with(a.given_key, b.given_key)
                and not starts_with(b.given_key, a.given_key)
            )
            or (
                a.birth_date is not null and b.birth_date is not null
                and levenshtein(
                    strftime(a.birth_date, '%Y%m%d'), strftime(b.birth_date, '%Y%m%d')
                ) > 1
                and not (
                    year(a.birth_date) = year(b.birth_date)
                    and month(a.birth_date) = day(b.birth_date)
                    and day(a.birth_date) = month(b.birth_date)
                )
            )
        )
)
select distinct id_type, id_value, 'different_people' as reason from conflicting_pairs
union all
select distinct id_type, id_value, 'too_many_variants' as reason
from variants
where variant_count > {config.shared_value_max_variants}
"""


def deterministic_edges_sql() -> str:
    """Link each record to the smallest record sharing a trusted identifier value."""
    priority = "map {" + ", ".join(f"'{r}': {p}" for r, p in RULE_PRIORITY.items()) + "}"
    return f"""
create or replace temp table {DETERMINISTIC_EDGES} as
with trusted as (
    select o.*
    from {OBSERVATIONS} as o
    anti join {SHARED_VALUES} as s using (id_type, id_value)
),
anchored as (
    select
        rid,
        id_type,
        id_value,
        rule,
        min(rid) over (partition by id_type, id_value) as anchor_rid,
        arg_min(rule, rid) over (partition by id_type, id_value) as anchor_rule
    from trusted
),
edges as (
    select
        anchor_rid as left_rid,
        rid as right_rid,
        id_type,
        id_value,
        case
            when 'anonymous_login' in (rule, anchor_rule) then 'anonymous_login'
            else rule
        end as rule
    from anchored
    where rid <> anchor_rid
)
select
    left_rid,
    right_rid,
    arg_min(rule, ({priority})[rule]) as rule,
    to_json(map(list(id_type order by id_type), list(id_value order by id_type)))
        as evidence
from edges
group by left_rid, right_rid
"""


def shared_device_links_sql() -> str:
    """Pairs (shared device record, a user's anchor record) to record as rejected links."""
    return f"""
select
    least(u.anchor_rid, d.rid) as left_rid,
    greatest(u.anchor_rid, d.rid) as right_rid,
    'anonymous_login' as rule,
    to_json({{'shared_device_user_id': d.user_id}}) as evidence
from {SHARED_DEVICES} as d
inner join (
    select id_value as user_id, min(rid) as anchor_rid
    from {OBSERVATIONS}
    where id_type = 'user_id' and rule = 'web_user_id'
    group by all
) as u using (user_id)
"""

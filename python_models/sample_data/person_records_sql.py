"""Synthetic `int_person_records_unioned` rows with ground truth, generated in DuckDB SQL.

For tests and the resolution benchmark when the full landing-file generator is not needed:
`write_synthetic_records(con, table, truth_table, people)` makes ~3 records per person
(crm, loyalty, shop orders, support tickets, web users, anonymous devices) with the mess
identity resolution must survive: plus-addressed and Gmail-dotted emails, typos, missing
fields, households sharing a landline, generic addresses, shared devices.
Pseudo-randomness is `hash(person, salt)`, so output is the same on any thread count.
"""

from __future__ import annotations

import duckdb

from python_models.sample_data import names

# Names come from the one set of name lists (`names.py`): the commonest British ones.
GIVEN_NAMES = names.plain_names("given", ["GB"], 96)
FAMILY_NAMES = names.plain_names("family", ["GB"], 100)
DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "proton.me", "mail.de")


def _rand(salt: str, key: str = "p") -> str:
    """SQL: a pseudo-random integer in [0, 1000) for `key` and `salt`."""
    return f"(hash({key}, '{salt}') % 1000)::INTEGER"


def synthetic_records_sql(people: int, offset: int = 0) -> str:
    """SELECT producing unioned person records plus a `person_id` truth column."""
    given = "[" + ", ".join(f"'{n}'" for n in GIVEN_NAMES) + "]"
    family = "[" + ", ".join(f"'{n}'" for n in FAMILY_NAMES) + "]"
    domains = "[" + ", ".join(f"'{d}'" for d in DOMAINS) + "]"
    return f"""
with people as (
    select
        p,
        'P' || lpad(p::VARCHAR, 8, '0') as person_id,
        ({given})[(1 + hash(p, 'g') % {len(GIVEN_NAMES)})::BIGINT] as given_name,
        -- households (pairs p, p+1 with p even and rand < 150) share family name and landline
        ({family})[(1 + hash(case when {_rand("hh", "p - p % 2")} < 150 then p - p % 2 else p end,
            'f') % {len(FAMILY_NAMES)})::BIGINT] as family_name,
        ({domains})[(1 + hash(p, 'd') % {len(DOMAINS)})::BIGINT] as domain,
        '+447' || lpad((100000000 + p * 7 % 900000000)::VARCHAR, 9, '0') as mobile,
        case when {_rand("hh", "p - p % 2")} < 150
            then '+4420' || lpad(((p - p % 2) % 100000000)::VARCHAR, 8, '0') end as landline,
        date '1950-01-01' + (hash(p, 'b') % 20000)::INTEGER as birth_date,
        'S' || (hash(p, 'pc') % 90 + 10)::VARCHAR || ' ' || (hash(p, 'pc2') % 9 + 1)::VARCHAR
            || 'AB' as postcode,
        ({_rand("crm")}) < 700 as has_crm,
        ({_rand("loy")}) < 400 as has_loyalty,
        ({_rand("web")}) < 600 as has_web,
        ({_rand("ord")}) % 5 as orders,
        ({_rand("sup")}) < 250 as has_support
    from range({offset}, {offset + people}) as t(p)
),
people_emails as (
    select
        *,
        lower(given_name) || '.' || lower(family_name) || p::VARCHAR || '@' || domain as email,
        'U' || p::VARCHAR as user_id
    from people
),
typo as (
    select
        *,
        case when {_rand("t1")} < 50
            then substr(given_name, 1, length(given_name) - 1) else given_name end as given_typo,
        case when domain = 'gmail.com'
            then replace(split_part(email, '@', 1), '.', '') || '@gmail.com'
            else split_part(email, '@', 1) || '+shop@' || domain end as email_variant
    from people_emails
),
records as (
    select
        'crm' as source_system, 'C' || p as source_record_id, person_id,
        given_typo as given_name, family_name,
        case when {_rand("e1")} < 950 then email end as email,
        coalesce(landline, mobile) as phone, postcode, birth_date,
        'C' || p as crm_id, null as loyalty_id, null as user_id, null as anonymous_id,
        null::VARCHAR[] as linked_user_ids
    from typo where has_crm
    union all
    select 'loyalty', 'L' || p, person_id, given_name, family_name,
        case when {_rand("e2")} < 900 then upper(email_variant) end, mobile, postcode,
        case when {_rand("b2")} < 900 then birth_date end,
        null, 'L' || p, null, null, null
    from typo where has_loyalty
    union all
    select 'shop', 'O' || p || '-' || o, person_id, given_name, family_name,
        case when o % 2 = 0 then email else email_variant end,
        case when {_rand("ph3")} < 700 then mobile end, postcode, null,
        case when has_crm and {_rand("cr3")} < 300 then 'C' || p end, null,
        case when has_web then user_id end, null, null
    from typo, range(orders) as r(o)
    union all
    select 'support', 'T' || p, person_id, null, null,
        case when {_rand("gen")} < 20 then 'info@acme-corp.example' else email_variant end,
        null, null, null, null, null, null, null, null
    from typo where has_support
    union all
    select 'web_user', user_id, person_id, null, null, null, null, null, null,
        null, null, user_id, null, null
    from typo where has_web
    union all
    select 'web_anonymous', 'A' || p || '-' || d, person_id, null, null, null, null, null, null,
        null, null, null, 'A' || p || '-' || d,
        case
            when d = 0 and {_rand("sh")} < 30 then [user_id, 'U' || (p + 1)::VARCHAR]
            when d = 0 or {_rand("lg")} < 700 then [user_id]
            else []::VARCHAR[]
        end
    from typo, range(1 + ({_rand("dev")}) % 2) as r(d) where has_web
)
select
    source_system, source_record_id, given_name, family_name, email, phone,
    null::VARCHAR as street, null::VARCHAR as city, postcode, 'GB' as country, birth_date,
    crm_id, loyalty_id, user_id, anonymous_id,
    timestamp '2026-01-01' as observed_at, linked_user_ids, person_id
from records
"""


def write_synthetic_records(
    con: duckdb.DuckDBPyConnection,
    table: str,
    truth_table: str,
    people: int,
    offset: int = 0,
    append: bool = False,
) -> int:
    """Create (or append to) `table` and its truth table; returns the records written."""
    select = synthetic_records_sql(people, offset)
    con.execute(f"create or replace temp table _synthetic as {select}")
    verb = "insert into" if append else "create or replace table"
    columns = "* exclude (person_id)"
    con.execute(f"{verb} {table} {'select' if append else 'as select'} {columns} from _synthetic")
    con.execute(
        f"{verb} {truth_table} {'select' if append else 'as select'} "
        "source_system, source_record_id, person_id from _synthetic"
    )
    count = con.execute("select count(*) from _synthetic").fetchall()[0][0]
    con.execute("drop table _synthetic")
    return int(count)

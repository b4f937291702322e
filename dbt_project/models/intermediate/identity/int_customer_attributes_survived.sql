{#-
    The golden-record attributes of each customer, chosen among its linked records.

    Survivorship, per attribute (name, email, phone, address, birth_date):
      1. only valid values compete (an email must look like one, a name has no digits or
         `@`, a birth date lies between 1900-01-01 and `as_of`, an address has a street or
         postcode; phones are already E.164 or null);
      2. only sources listed for the attribute in the `survivorship_source_priority` seed
         compete, the lowest `priority` winning;
      3. ties go to the most recently observed record, then to the most complete value
         (a name with both parts, an address with more parts), then to the record id so
         reruns agree.
    Name and address survive as blocks, so a given name and a family name (or a street and
    a postcode) always come from the same record. Each block says which record supplied it
    (`<attribute>_source_system`, `<attribute>_source_record_id`): the golden record's
    provenance.
-#}
with

keyed_records as (
    select * from {{ ref('int_person_records_keyed') }}
),

source_priority as (
    select * from {{ ref('survivorship_source_priority') }}
),

customers as (
    select distinct customer_key from keyed_records
),

name_candidates as (
    select
        keyed_records.customer_key,
        keyed_records.source_system,
        keyed_records.source_record_id,
        keyed_records.given_name,
        keyed_records.family_name,
        row_number() over (
            partition by keyed_records.customer_key
            order by
                source_priority.priority asc,
                keyed_records.observed_at desc nulls last,
                (case when keyed_records.given_name is null then 0 else 1 end)
                + (case when keyed_records.family_name is null then 0 else 1 end) desc,
                keyed_records.source_record_id asc
        ) as survivorship_rank
    from keyed_records
    inner join source_priority
        on
            source_priority.attribute = 'name'
            and keyed_records.source_system = source_priority.source_system
    where
        coalesce(keyed_records.given_name, keyed_records.family_name) is not null
        and not coalesce({{ regexp_full_match('keyed_records.given_name', '.*[0-9@].*') }}, false)
        and not coalesce({{ regexp_full_match('keyed_records.family_name', '.*[0-9@].*') }}, false)
),

email_candidates as (
    select
        keyed_records.customer_key,
        keyed_records.source_system,
        keyed_records.source_record_id,
        keyed_records.email,
        row_number() over (
            partition by keyed_records.customer_key
            order by
                source_priority.priority asc,
                keyed_records.observed_at desc nulls last,
                keyed_records.source_record_id asc
        ) as survivorship_rank
    from keyed_records
    inner join source_priority
        on
            source_priority.attribute = 'email'
            and keyed_records.source_system = source_priority.source_system
    where {{ regexp_full_match('keyed_records.email', '[^@ ]+@[^@ ]+[.][^@ ]+') }}
),

phone_candidates as (
    select
        keyed_records.customer_key,
        keyed_records.source_system,
        keyed_records.source_record_id,
        keyed_records.phone,
        row_number() over (
            partition by keyed_records.customer_key
            order by
                source_priority.priority asc,
                keyed_records.observed_at desc nulls last,
                keyed_records.source_record_id asc
        ) as survivorship_rank
    from keyed_records
    inner join source_priority
        on
            source_priority.attribute = 'phone'
            and keyed_records.source_system = source_priority.source_system
    where keyed_records.phone is not null
),

address_candidates as (
    select
        keyed_records.customer_key,
        keyed_records.source_system,
        keyed_records.source_record_id,
        keyed_records.street,
        keyed_records.city,
        keyed_records.postcode,
        keyed_records.country,
        row_number() over (
            partition by keyed_records.customer_key
            order by
                source_priority.priority asc,
                keyed_records.observed_at desc nulls last,
                (case when keyed_records.street is null then 0 else 1 end)
                + (case when keyed_records.city is null then 0 else 1 end)
                + (case when keyed_records.postcode is null then 0 else 1 end)
                + (case when keyed_records.country is null then 0 else 1 end) desc,
                keyed_records.source_record_id asc
        ) as survivorship_rank
    from keyed_records
    inner join source_priority
        on
            source_priority.attribute = 'address'
            and keyed_records.source_system = source_priority.source_system
    where coalesce(keyed_records.street, keyed_records.postcode) is not null
),

birth_date_candidates as (
    select
        keyed_records.customer_key,
        keyed_records.source_system,
        keyed_records.source_record_id,
        keyed_records.birth_date,
        row_number() over (
            partition by keyed_records.customer_key
            order by
                source_priority.priority asc,
                keyed_records.observed_at desc nulls last,
                keyed_records.source_record_id asc
        ) as survivorship_rank
    from keyed_records
    inner join source_priority
        on
            source_priority.attribute = 'birth_date'
            and keyed_records.source_system = source_priority.source_system
    where
        keyed_records.birth_date >= cast('1900-01-01' as date)
        and keyed_records.birth_date <= cast({{ as_of_timestamp() }} as date)
),

all_emails as (
    select
        customer_key,
        {{ sorted_distinct_list('email') }} as all_emails
    from keyed_records
    where {{ regexp_full_match('email', '[^@ ]+@[^@ ]+[.][^@ ]+') }}
    group by customer_key
),

final as (
    select
        customers.customer_key,
        name_candidates.given_name,
        name_candidates.family_name,
        email_candidates.email as primary_email,
        all_emails.all_emails,
        phone_candidates.phone,
        address_candidates.street,
        address_candidates.city,
        address_candidates.postcode,
        address_candidates.country,
        birth_date_candidates.birth_date,
        name_candidates.source_system as name_source_system,
        name_candidates.source_record_id as name_source_record_id,
        email_candidates.source_system as email_source_system,
        email_candidates.source_record_id as email_source_record_id,
        phone_candidates.source_system as phone_source_system,
        phone_candidates.source_record_id as phone_source_record_id,
        address_candidates.source_system as address_source_system,
        address_candidates.source_record_id as address_source_record_id,
        birth_date_candidates.source_system as birth_date_source_system,
        birth_date_candidates.source_record_id as birth_date_source_record_id
    from customers
    left join name_candidates
        on
            customers.customer_key = name_candidates.customer_key
            and name_candidates.survivorship_rank = 1
    left join email_candidates
        on
            customers.customer_key = email_candidates.customer_key
            and email_candidates.survivorship_rank = 1
    left join all_emails
        on customers.customer_key = all_emails.customer_key
    left join phone_candidates
        on
            customers.customer_key = phone_candidates.customer_key
            and phone_candidates.survivorship_rank = 1
    left join address_candidates
        on
            customers.customer_key = address_candidates.customer_key
            and address_candidates.survivorship_rank = 1
    left join birth_date_candidates
        on
            customers.customer_key = birth_date_candidates.customer_key
            and birth_date_candidates.survivorship_rank = 1
)

select * from final

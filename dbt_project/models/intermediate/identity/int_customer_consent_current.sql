{#-
    Each customer's current consent per purpose.

    Consent is recorded per identifier (an email or phone). Emails match exactly; phones on
    their last nine digits (`phone_match_key`), since a consent record does not say which
    country a nationally written number is in. For each identifier and purpose
    the latest event is its state; a customer's state for a purpose is the latest of those
    across all identifiers on its linked records (a withdrawal wins a same-instant tie).
    A purpose with no event at all is not consented (`false`): consent must be given.
    Events after the dbt var `as_of` are not yet known.
-#}
with

keyed_records as (
    select * from {{ ref('int_person_records_keyed') }}
),

consent_events as (
    select * from {{ ref('stg_consent__events') }}
),

customer_identifiers as (
    select distinct
        customer_key,
        'email' as identifier_type,
        email as identifier_match_key
    from keyed_records
    where email is not null
    union all
    select distinct
        customer_key,
        'phone' as identifier_type,
        {{ phone_match_key('phone') }} as identifier_match_key
    from keyed_records
    where phone is not null
),

latest_per_identifier as (
    select
        identifier_type,
        identifier_match_key,
        purpose,
        is_granted,
        occurred_at,
        row_number() over (
            partition by identifier_type, identifier_match_key, purpose
            order by
                occurred_at desc nulls last,
                case when is_granted then 1 else 0 end asc,
                consent_event_id desc
        ) as recency_rank
    from consent_events
    where
        identifier_match_key is not null
        and purpose is not null
        and is_granted is not null
        {# the state at as_of, so a rerun for an earlier date sees that date's consent #}
        and occurred_at <= {{ as_of_timestamp() }}
),

latest_per_customer as (
    select
        customer_identifiers.customer_key,
        latest_per_identifier.purpose,
        latest_per_identifier.is_granted,
        latest_per_identifier.occurred_at,
        row_number() over (
            partition by customer_identifiers.customer_key, latest_per_identifier.purpose
            order by
                latest_per_identifier.occurred_at desc nulls last,
                case when latest_per_identifier.is_granted then 1 else 0 end asc
        ) as recency_rank
    from customer_identifiers
    inner join latest_per_identifier
        on
            customer_identifiers.identifier_type = latest_per_identifier.identifier_type
            and customer_identifiers.identifier_match_key
            = latest_per_identifier.identifier_match_key
            and latest_per_identifier.recency_rank = 1
),

final as (
    select
        customer_key,
        coalesce(max(case
            when purpose = 'email_marketing' and is_granted then 1
            when purpose = 'email_marketing' then 0
        end) = 1, false) as consent_email_marketing,
        coalesce(max(case
            when purpose = 'personalization' and is_granted then 1
            when purpose = 'personalization' then 0
        end) = 1, false) as consent_personalization,
        coalesce(max(case
            when purpose = 'analytics' and is_granted then 1
            when purpose = 'analytics' then 0
        end) = 1, false) as consent_analytics,
        max(occurred_at) as consent_updated_at
    from latest_per_customer
    where recency_rank = 1
    group by customer_key
)

select * from final

{#-
    Each customer's current consent per purpose, as dim_customers' consent_* columns show it.

    Per identifier and purpose the latest event is its state (int_consent_identifiers_latest:
    a withdrawal wins a same-instant tie); a customer's state for a purpose is the latest of
    those across the identifiers on its linked records (int_customer_identifiers), a
    withdrawal winning a tie. A purpose with no event at all is not consented (`false`).
    marts.customer_consent reads the same identifiers by the strictest rule instead (any
    current withdrawal wins; docs/decisions/0009-activation.md); every export uses that.
-#}
with

customer_identifiers as (
    select * from {{ ref('int_customer_identifiers') }}
),

identifier_states as (
    select * from {{ ref('int_consent_identifiers_latest') }}
),

latest_per_customer as (
    select
        customer_identifiers.customer_key,
        identifier_states.purpose,
        identifier_states.is_granted,
        identifier_states.decided_at as occurred_at,
        row_number() over (
            partition by customer_identifiers.customer_key, identifier_states.purpose
            order by
                identifier_states.decided_at desc nulls last,
                case when identifier_states.is_granted then 1 else 0 end asc
        ) as recency_rank
    from customer_identifiers
    inner join identifier_states
        on
            customer_identifiers.identifier_type = identifier_states.identifier_type
            and customer_identifiers.identifier_match_key
            = identifier_states.identifier_match_key
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

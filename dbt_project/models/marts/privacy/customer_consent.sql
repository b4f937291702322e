{#- Consent per customer and purpose, the table every output checks before it uses a
    customer's data (rules in int_customer_consent_resolved). -#}
with

resolved as (
    select * from {{ ref('int_customer_consent_resolved') }}
),

final as (
    select
        customer_key,
        purpose,
        consent_state,
        is_granted,
        state_since,
        decided_by_identifier_type,
        decided_by_identifier,
        decided_by_event_id,
        consent_source,
        identifiers_granted,
        identifiers_withdrawn,
        granted_email,
        {{ as_of_timestamp() }} as as_of
    from resolved
)

select * from final

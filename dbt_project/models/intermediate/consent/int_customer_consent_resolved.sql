{#-
    One row per customer and purpose: the customer-level consent, combined from the current
    state of every identifier on the customer's linked records (int_consent_identifiers_latest).

    The combination is the strictest reading (docs/decisions/0007-activation.md):
      - withdrawn when any identifier's latest event is a withdrawal, even if another
        identifier granted later: a person who said no somewhere has said no;
      - granted when at least one identifier granted and none withdrew;
      - no_consent when no identifier has an event: consent must be given, never assumed.
    The row says which identifier and source decided it and since when: the latest
    withdrawal, or for a grant the grant on the customer's primary email when there is one,
    else the latest grant. `granted_email` is the email address that itself holds a current
    grant (primary email first): the only address marketing may write to.
-#}
with

customer_identifiers as (
    select * from {{ ref('int_customer_identifiers') }}
),

survived as (
    select * from {{ ref('int_customer_attributes_survived') }}
),

identifier_states as (
    select * from {{ ref('int_consent_identifiers_latest') }}
),

consent_purposes as (
    select * from {{ ref('consent_purposes') }}
),

customer_identifier_states as (
    select
        customer_identifiers.customer_key,
        identifier_states.purpose,
        identifier_states.identifier_type,
        identifier_states.identifier,
        identifier_states.is_granted,
        identifier_states.decided_at,
        identifier_states.decided_by_event_id,
        identifier_states.consent_source,
        coalesce(
            identifier_states.identifier_type = 'email'
            and identifier_states.identifier = survived.primary_email,
            false
        ) as is_primary_email
    from customer_identifiers
    inner join identifier_states
        on
            customer_identifiers.identifier_type = identifier_states.identifier_type
            and customer_identifiers.identifier_match_key = identifier_states.identifier_match_key
    left join survived
        on customer_identifiers.customer_key = survived.customer_key
),

deciding_identifier as (
    select
        *,
        row_number() over (
            partition by customer_key, purpose
            order by
                case when is_granted then 1 else 0 end asc,
                case when is_primary_email then 0 else 1 end asc,
                decided_at desc,
                identifier_type asc,
                identifier asc
        ) as decision_rank
    from customer_identifier_states
),

identifier_counts as (
    select
        customer_key,
        purpose,
        count(*) filter (where is_granted) as identifiers_granted,
        count(*) filter (where not is_granted) as identifiers_withdrawn
    from customer_identifier_states
    group by customer_key, purpose
),

granted_emails as (
    select
        customer_key,
        purpose,
        identifier as granted_email,
        row_number() over (
            partition by customer_key, purpose
            order by
                case when is_primary_email then 0 else 1 end asc,
                decided_at desc,
                identifier asc
        ) as email_rank
    from customer_identifier_states
    where identifier_type = 'email' and is_granted
),

customers_by_purpose as (
    select
        survived.customer_key,
        consent_purposes.purpose
    from survived
    cross join consent_purposes
),

final as (
    select
        customers_by_purpose.customer_key,
        customers_by_purpose.purpose,
        case
            when deciding_identifier.is_granted is null then 'no_consent'
            when identifier_counts.identifiers_withdrawn > 0 then 'withdrawn'
            else 'granted'
        end as consent_state,
        coalesce(identifier_counts.identifiers_withdrawn = 0, false) as is_granted,
        deciding_identifier.decided_at as state_since,
        deciding_identifier.identifier_type as decided_by_identifier_type,
        deciding_identifier.identifier as decided_by_identifier,
        deciding_identifier.decided_by_event_id,
        deciding_identifier.consent_source,
        coalesce(identifier_counts.identifiers_granted, 0) as identifiers_granted,
        coalesce(identifier_counts.identifiers_withdrawn, 0) as identifiers_withdrawn,
        case
            when identifier_counts.identifiers_withdrawn = 0 then granted_emails.granted_email
        end as granted_email
    from customers_by_purpose
    left join deciding_identifier
        on
            customers_by_purpose.customer_key = deciding_identifier.customer_key
            and customers_by_purpose.purpose = deciding_identifier.purpose
            and deciding_identifier.decision_rank = 1
    left join identifier_counts
        on
            customers_by_purpose.customer_key = identifier_counts.customer_key
            and customers_by_purpose.purpose = identifier_counts.purpose
    left join granted_emails
        on
            customers_by_purpose.customer_key = granted_emails.customer_key
            and customers_by_purpose.purpose = granted_emails.purpose
            and granted_emails.email_rank = 1
)

select * from final

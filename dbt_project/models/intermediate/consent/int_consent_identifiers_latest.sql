{#-
    The current consent state of every identifier (a normalised email, or a phone's last
    nine digits) for every purpose: its latest event at `as_of`.

    Events may arrive out of order and in several files; only `occurred_at` orders them.
    Two events of one identifier and purpose at the same instant resolve to the withdrawal
    (the strict reading), then to the larger event id, so the result never depends on file
    order. Events with an unknown purpose or status are not consent and are ignored.
    Events after `as_of` are not yet known.
-#}
with

consent_events as (
    select * from {{ ref('stg_consent__events') }}
),

consent_purposes as (
    select * from {{ ref('consent_purposes') }}
),

known_events as (
    select
        consent_events.consent_event_id,
        consent_events.identifier_type,
        consent_events.identifier_match_key,
        consent_events.identifier,
        consent_events.purpose,
        consent_events.is_granted,
        consent_events.occurred_at,
        consent_events.consent_source
    from consent_events
    inner join consent_purposes
        on consent_events.purpose = consent_purposes.purpose
    where
        consent_events.identifier_match_key is not null
        and consent_events.is_granted is not null
        and consent_events.occurred_at <= {{ as_of_timestamp() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by identifier_type, identifier_match_key, purpose
            order by
                occurred_at desc,
                case when is_granted then 1 else 0 end asc,
                consent_event_id desc
        ) as recency_rank,
        count(*) over (
            partition by identifier_type, identifier_match_key, purpose
        ) as event_count
    from known_events
),

final as (
    select
        identifier_type,
        identifier_match_key,
        identifier,
        purpose,
        is_granted,
        occurred_at as decided_at,
        consent_event_id as decided_by_event_id,
        consent_source,
        event_count
    from ranked
    where recency_rank = 1
)

select * from final

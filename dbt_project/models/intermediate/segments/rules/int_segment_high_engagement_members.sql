-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.
-- high_engagement: At least 3 sessions in the last 30 days, averaging more than 2 minutes each.
-- owner: growth-team

{{ config(materialized='table', tags=['segment', 'rule_segment']) }}

with

traits as (
    select * from {{ ref('int_customer_traits_joined') }}
),

events as (
    select * from {{ ref('int_events_keyed') }}
),

avg_session_minutes_30d as (
    select
        customer_key,
        avg(session_seconds) / 60.0 as metric_value
    from (
        select
            customer_key,
            session_id,
            {{ dbt.datediff('min(occurred_at)', 'max(occurred_at)', 'second') }}
                as session_seconds
        from events
        where
            customer_key is not null
            and session_id is not null
            and occurred_at > {{ segments_window_start(30, 'day') }} and occurred_at <= {{ segments_as_of() }}
        group by customer_key, session_id
    ) as session_lengths
    group by customer_key
),

sessions_30d as (
    select
        customer_key,
        count(distinct session_id) as metric_value
    from events
    where
        customer_key is not null
        and session_id is not null
        and occurred_at > {{ segments_window_start(30, 'day') }} and occurred_at <= {{ segments_as_of() }}
    group by customer_key
),

final as (
    select
        traits.customer_key,
        'high_engagement' as segment,
        {{ segments_as_of() }} as as_of
    from traits
    left join avg_session_minutes_30d
        on traits.customer_key = avg_session_minutes_30d.customer_key
    left join sessions_30d
        on traits.customer_key = sessions_30d.customer_key
    where (
        coalesce(sessions_30d.metric_value, 0) >= 3
        and coalesce(avg_session_minutes_30d.metric_value, 0) > 2
    )
)

select * from final

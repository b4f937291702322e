-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.
-- high_purchase_intent: Left a cart worth more than 50 (reporting currency) without buying, in the last 24 hours.
-- owner: growth-team

{{ config(materialized='table', tags=['segment', 'rule_segment']) }}

with

traits as (
    select * from {{ ref('int_customer_traits_joined') }}
),

events as (
    select * from {{ ref('int_events_keyed') }}
),

abandoned_cart_value_24h_carts as (
    select
        customer_key,
        session_id,
        max(cart_value) as peak_cart_value,
        max(occurred_at) as last_added_at
    from events
    where
        customer_key is not null
        and event_name = 'add_to_cart'
        and occurred_at > {{ segments_window_start(24, 'hour') }} and occurred_at <= {{ segments_as_of() }}
    group by customer_key, session_id
),

abandoned_cart_value_24h_purchases as (
    select
        customer_key,
        max(occurred_at) as last_purchased_at
    from events
    where
        customer_key is not null
        and event_name = 'purchase'
        and occurred_at > {{ segments_window_start(24, 'hour') }} and occurred_at <= {{ segments_as_of() }}
    group by customer_key
),

abandoned_cart_value_24h as (
    select
        carts.customer_key,
        max(carts.peak_cart_value) as metric_value
    from abandoned_cart_value_24h_carts as carts
    left join abandoned_cart_value_24h_purchases as purchases
        on carts.customer_key = purchases.customer_key
    where
        purchases.last_purchased_at is null
        or purchases.last_purchased_at < carts.last_added_at
    group by carts.customer_key
),

final as (
    select
        traits.customer_key,
        'high_purchase_intent' as segment,
        {{ segments_as_of() }} as as_of
    from traits
    left join abandoned_cart_value_24h
        on traits.customer_key = abandoned_cart_value_24h.customer_key
    where coalesce(abandoned_cart_value_24h.metric_value, 0) > 50
)

select * from final

{#- Web events, one row each, with their customer (keyed in int_events_keyed). -#}
with

events as (
    select * from {{ ref('int_events_keyed') }}
),

final as (
    select
        event_id,
        customer_key,
        anonymous_id,
        user_id,
        session_id,
        event_name,
        occurred_at,
        device,
        channel,
        utm_source,
        utm_campaign,
        product_id,
        category,
        price,
        quantity,
        cart_value,
        dwell_seconds,
        scroll_depth,
        search_query,
        order_id
    from events
)

select * from final

{#- Web events with the customer they belong to: through the logged-in account when the
    event carries one, else through the browser's anonymous id. -#}
with

web_events as (
    select * from {{ ref('stg_web__events') }}
),

identity_graph as (
    select * from {{ source('identity', 'identity_graph') }}
),

user_keys as (
    select
        source_record_id as user_id,
        customer_key
    from identity_graph
    where source_system = 'web_user'
),

anonymous_keys as (
    select
        source_record_id as anonymous_id,
        customer_key
    from identity_graph
    where source_system = 'web_anonymous'
),

final as (
    select
        web_events.event_id,
        coalesce(user_keys.customer_key, anonymous_keys.customer_key) as customer_key,
        web_events.anonymous_id,
        web_events.user_id,
        web_events.session_id,
        web_events.event_name,
        web_events.occurred_at,
        web_events.device,
        web_events.channel,
        web_events.utm_source,
        web_events.utm_campaign,
        web_events.product_id,
        web_events.category,
        web_events.price,
        web_events.quantity,
        web_events.cart_value,
        web_events.dwell_seconds,
        web_events.scroll_depth,
        web_events.search_query
    from web_events
    left join user_keys
        on web_events.user_id = user_keys.user_id
    left join anonymous_keys
        on web_events.anonymous_id = anonymous_keys.anonymous_id
)

select * from final

{#- Web events with the customer they belong to: through the logged-in account when the
    event carries one, else through the browser's anonymous id. fct_events and the segment
    models read this. -#}
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

keyed_events as (
    select
        web_events.*,
        coalesce(user_keys.customer_key, anonymous_keys.customer_key) as customer_key
    from web_events
    left join user_keys
        on web_events.user_id = user_keys.user_id
    left join anonymous_keys
        on web_events.anonymous_id = anonymous_keys.anonymous_id
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
    from keyed_events
)

select * from final

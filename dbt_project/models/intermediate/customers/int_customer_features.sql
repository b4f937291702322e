{#- One row per customer: the behaviour features the micro-segment model clusters on
    (python_models/clustering). Everything is measured at the dbt var `as_of`; rows after it
    are ignored so a back-fill sees what was known then.

    Money follows the segment models' netting (int_customer_orders_summarised): a cancelled
    order counts 0, a return (a store refund, or a returned online order whose net is
    already 0) counts minus its amount.

    A purchase is a completed, non-return order. Ratios are NULL-free: a customer who never
    bought has 0 spend, 0 return rate and 0 discount share, and a NULL recency (the model
    reads that as "never"). -#}
{%- set as_of_literal = var('as_of') | string | replace('Z', '') | replace('z', '') -%}
{%- set as_of = "cast('" ~ as_of_literal ~ "' as timestamp)" -%}
{%- set engagement_window_days = var('engagement_window_days', 90) | int -%}

with

customers as (
    select * from {{ ref('int_customers_profiled') }}
),

orders as (
    select * from {{ ref('int_orders_keyed') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_keyed') }}
),

products as (
    select * from {{ ref('stg_catalog__products') }}
),

events as (
    select * from {{ ref('int_events_keyed') }}
),

orders_until_as_of as (
    select
        order_id,
        channel,
        customer_key,
        ordered_at,
        status = 'completed' and not coalesce(is_return, false) as is_purchase,
        case
            when status = 'cancelled' then 0
            when coalesce(is_return, false) then -abs(net_amount_reporting)
            else net_amount_reporting
        end as netted_amount,
        -- value bought and value sent back: a returned online order was bought first (its
        -- net is already 0 in fct_orders, so its value is gross less discount); a store
        -- refund buys nothing and sends back its amount
        case
            when status = 'cancelled' then 0
            when channel = 'online' and coalesce(is_return, false)
                then coalesce(gross_amount_reporting, 0) - coalesce(discount_amount_reporting, 0)
            when coalesce(is_return, false) then 0
            else abs(net_amount_reporting)
        end as bought_amount,
        case
            when channel = 'online' and coalesce(is_return, false)
                then coalesce(gross_amount_reporting, 0) - coalesce(discount_amount_reporting, 0)
            when coalesce(is_return, false) then abs(net_amount_reporting)
            else 0
        end as returned_amount,
        coalesce(gross_amount_reporting, 0) as gross_amount,
        coalesce(discount_amount_reporting, 0) as discount_amount
    from orders
    where
        customer_key is not null
        and ordered_at <= {{ as_of }}
),

order_stats as (
    select
        customer_key,
        min(ordered_at) as first_order_at,
        max(case when is_purchase then ordered_at end) as last_purchase_at,
        sum(case when is_purchase then 1 else 0 end) as frequency,
        sum(netted_amount) as monetary,
        sum(bought_amount) as bought_amount,
        sum(returned_amount) as returned_amount,
        sum(case when is_purchase then gross_amount else 0 end) as purchased_gross_amount,
        sum(case when is_purchase then discount_amount else 0 end) as purchased_discount_amount
    from orders_until_as_of
    group by customer_key
),

category_spend as (
    select
        orders_until_as_of.customer_key,
        coalesce(products.category, 'unknown') as category,
        sum(order_lines.net_amount_reporting) as spend
    from order_lines
    inner join orders_until_as_of
        on
            order_lines.order_id = orders_until_as_of.order_id
            and order_lines.channel = orders_until_as_of.channel
    left join products
        on order_lines.product_id = products.product_id
    where
        orders_until_as_of.is_purchase
        and order_lines.net_amount_reporting > 0
    group by orders_until_as_of.customer_key, coalesce(products.category, 'unknown')
),

category_mix as (
    select
        customer_key,
        count(*) as categories_bought,
        max(spend) / nullif(sum(spend), 0) as top_category_share,
        -- ties broken by name so the favourite is deterministic
        min(case when spend_rank = 1 then category end) as favourite_category
    from (
        select
            customer_key,
            category,
            spend,
            row_number() over (
                partition by customer_key order by spend desc, category asc
            ) as spend_rank
        from category_spend
    ) as ranked_categories
    group by customer_key
),

events_until_as_of as (
    select
        customer_key,
        session_id,
        event_name,
        occurred_at,
        occurred_at > {{ dbt.dateadd('day', -1 * engagement_window_days, as_of) }}
            as is_in_engagement_window
    from events
    where
        customer_key is not null
        and occurred_at <= {{ as_of }}
),

engagement as (
    select
        customer_key,
        min(occurred_at) as first_event_at,
        sum(case when is_in_engagement_window then 1 else 0 end) as events_90d,
        count(distinct case when is_in_engagement_window then session_id end) as sessions_90d,
        sum(
            case when is_in_engagement_window and event_name = 'email_click' then 1 else 0 end
        ) as email_clicks_90d
    from events_until_as_of
    group by customer_key
),

joined as (
    select
        customers.customer_key,
        order_stats.last_purchase_at,
        category_mix.favourite_category,
        least(order_stats.first_order_at, engagement.first_event_at) as first_seen_at,
        coalesce(order_stats.frequency, 0) as frequency,
        coalesce(order_stats.monetary, 0) as monetary,
        coalesce(order_stats.bought_amount, 0) as bought_amount,
        coalesce(order_stats.returned_amount, 0) as returned_amount,
        coalesce(order_stats.purchased_gross_amount, 0) as purchased_gross_amount,
        coalesce(order_stats.purchased_discount_amount, 0) as purchased_discount_amount,
        coalesce(category_mix.categories_bought, 0) as categories_bought,
        coalesce(category_mix.top_category_share, 0) as top_category_share,
        coalesce(engagement.events_90d, 0) as events_90d,
        coalesce(engagement.sessions_90d, 0) as sessions_90d,
        coalesce(engagement.email_clicks_90d, 0) as email_clicks_90d
    from customers
    left join order_stats
        on customers.customer_key = order_stats.customer_key
    left join category_mix
        on customers.customer_key = category_mix.customer_key
    left join engagement
        on customers.customer_key = engagement.customer_key
),

final as (
    select
        customer_key,
        cast(
            {{ dbt.datediff('last_purchase_at', as_of, 'day') }} as double
        ) as recency_days,
        cast(frequency as double) as frequency,
        cast(monetary as double) as monetary,
        cast(
            case when frequency > 0 then greatest(monetary, 0) / frequency else 0 end as double
        ) as avg_order_value,
        cast(top_category_share as double) as top_category_share,
        cast(categories_bought as integer) as categories_bought,
        favourite_category,
        cast(events_90d as double) as events_90d,
        cast(sessions_90d as double) as sessions_90d,
        cast(email_clicks_90d as double) as email_clicks_90d,
        cast(
            coalesce(greatest({{ dbt.datediff('first_seen_at', as_of, 'day') }}, 0), 0) as double
        ) as tenure_days,
        cast(
            case
                when bought_amount > 0 then least(returned_amount / bought_amount, 1) else 0
            end as double
        ) as return_rate,
        cast(
            case
                when purchased_gross_amount > 0
                    then least(greatest(purchased_discount_amount / purchased_gross_amount, 0), 1)
                else 0
            end as double
        ) as discount_share,
        last_purchase_at,
        first_seen_at,
        {{ as_of }} as features_as_of
    from joined
)

select * from final

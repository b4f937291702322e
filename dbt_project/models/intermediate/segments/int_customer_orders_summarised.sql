{#- One row per customer known at `as_of`, with order facts netted for returns.
    Online and in-store orders count together. A row's value towards spend (fct_orders
    already nets: a returned or cancelled online order has net 0, an in-store refund a
    negative net; the rules below hold whichever sign a refund is stored with):
      cancelled    -> 0
      is_return    -> minus its absolute value (a refund, or a returned online order: 0)
      otherwise    -> net_amount_reporting
    A purchase (for frequency and recency) is a completed, non-return order. -#}
{%- set rfm_window_days = var('rfm_window_days', 365) | int -%}

with

customers as (
    select * from {{ ref('int_customers_profiled') }}
),

orders as (
    select * from {{ ref('int_orders_keyed') }}
),

customers_known_at_as_of as (
    select customer_key
    from customers
    where first_seen_at is null or first_seen_at <= {{ segments_as_of() }}
),

orders_until_as_of as (
    select
        customer_key,
        ordered_at,
        status = 'completed' and not coalesce(is_return, false) as is_purchase,
        case
            when status = 'cancelled' then 0
            when coalesce(is_return, false) then -abs(net_amount_reporting)
            else net_amount_reporting
        end as netted_amount,
        ordered_at > {{ segments_window_start(rfm_window_days, 'day') }} as is_in_rfm_window
    from orders
    where
        customer_key is not null
        and ordered_at <= {{ segments_as_of() }}
),

order_stats as (
    select
        customer_key,
        min(case when is_purchase then ordered_at end) as first_purchase_at,
        max(case when is_purchase then ordered_at end) as last_purchase_at,
        sum(case when is_purchase then 1 else 0 end) as lifetime_purchases,
        sum(netted_amount) as lifetime_net_spend,
        sum(case when is_purchase and is_in_rfm_window then 1 else 0 end) as window_purchases,
        sum(case when is_in_rfm_window then netted_amount else 0 end) as window_net_spend
    from orders_until_as_of
    group by customer_key
),

final as (
    select
        customers_known_at_as_of.customer_key,
        order_stats.first_purchase_at,
        order_stats.last_purchase_at,
        coalesce(order_stats.lifetime_purchases, 0) as lifetime_purchases,
        cast(coalesce(order_stats.lifetime_net_spend, 0) as decimal(18, 2)) as lifetime_net_spend,
        coalesce(order_stats.window_purchases, 0) as window_purchases,
        cast(coalesce(order_stats.window_net_spend, 0) as decimal(18, 2)) as window_net_spend,
        {{ dbt.datediff('order_stats.last_purchase_at', segments_as_of(), 'day') }}
            as days_since_last_purchase,
        {{ dbt.datediff('order_stats.first_purchase_at', segments_as_of(), 'day') }}
            as days_since_first_purchase
    from customers_known_at_as_of
    left join order_stats
        on customers_known_at_as_of.customer_key = order_stats.customer_key
)

select * from final

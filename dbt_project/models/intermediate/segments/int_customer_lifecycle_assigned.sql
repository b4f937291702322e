{#- One lifecycle stage per customer known at `as_of`; the stages are mutually exclusive and
    tested in order (first match wins):
      Loyal Customer  bought within `lifecycle_active_days` and at least
                      `lifecycle_loyal_min_orders` times within the RFM window
      Active Buyer    bought within `lifecycle_active_days`
      Lapsed          bought before, but not within `lifecycle_active_days`
      Browser         never bought (known from events, CRM or loyalty only) -#}
{%- set active_days = var('lifecycle_active_days', 180) | int -%}
{%- set loyal_min_orders = var('lifecycle_loyal_min_orders', 3) | int -%}

with

customer_orders as (
    select * from {{ ref('int_customer_orders_summarised') }}
),

final as (
    select
        customer_key,
        case
            when
                days_since_last_purchase <= {{ active_days }}
                and window_purchases >= {{ loyal_min_orders }}
                then 'Loyal Customer'
            when days_since_last_purchase <= {{ active_days }} then 'Active Buyer'
            when lifetime_purchases > 0 then 'Lapsed'
            else 'Browser'
        end as lifecycle_stage,
        {{ segments_as_of() }} as as_of
    from customer_orders
)

select * from final

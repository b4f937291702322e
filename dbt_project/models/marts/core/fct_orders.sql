{#- Online orders and in-store transactions, one row each, with their customer
    (keyed in int_orders_keyed). -#}
with

orders as (
    select * from {{ ref('int_orders_keyed') }}
),

final as (
    select
        order_id,
        customer_key,
        channel,
        ordered_at,
        status,
        currency,
        store_id,
        gross_amount_reporting,
        discount_amount_reporting,
        net_amount_reporting,
        is_return,
        item_count
    from orders
)

select * from final

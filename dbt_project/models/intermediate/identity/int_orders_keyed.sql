{#- Every online order and in-store transaction with the customer it belongs to (the
    identity graph's key for the order's checkout record or loyalty card); NULL when the
    order has no resolved customer (an anonymous till sale). fct_orders and the segment
    models read this. -#}
with

orders as (
    select * from {{ ref('int_orders_unioned') }}
),

identity_graph as (
    select * from {{ source('identity', 'identity_graph') }}
),

final as (
    select
        orders.order_id,
        identity_graph.customer_key,
        orders.channel,
        orders.ordered_at,
        orders.status,
        orders.currency,
        orders.store_id,
        orders.gross_amount_reporting,
        orders.discount_amount_reporting,
        orders.net_amount_reporting,
        orders.is_return,
        orders.item_count
    from orders
    left join identity_graph
        on
            orders.customer_source_system = identity_graph.source_system
            and orders.customer_source_record_id = identity_graph.source_record_id
)

select * from final

{#-
    Online order lines and in-store till lines in one shape, amounts in the reporting
    currency. Netting: a line of a cancelled or returned online order, and a till line with
    a negative quantity (a return), carry the money that actually stayed with us, so summing
    `net_amount_reporting` gives net revenue: zero for a cancelled or returned order, negative
    for an in-store return (whose sale is its own, earlier, positive transaction).
-#}
with

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

shop_order_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

pos_transactions as (
    select * from {{ ref('stg_pos__transactions') }}
),

online_lines as (
    select
        shop_order_lines.order_id,
        shop_order_lines.line_number,
        'online' as channel,
        'shop' as customer_source_system,
        shop_order_lines.order_id as customer_source_record_id,
        shop_orders.ordered_at,
        shop_orders.status,
        shop_orders.currency,
        cast(null as {{ dbt.type_string() }}) as store_id,
        shop_order_lines.product_id,
        shop_order_lines.quantity,
        {{ to_reporting_currency(
            'shop_order_lines.unit_price', 'shop_orders.currency', 'shop_orders.ordered_at'
        ) }} as unit_price_reporting,
        {{ to_reporting_currency(
            'shop_order_lines.discount', 'shop_orders.currency', 'shop_orders.ordered_at'
        ) }} as discount_amount_reporting,
        shop_orders.status = 'returned' as is_return,
        shop_orders.status = 'completed' as counts_as_revenue
    from shop_order_lines
    inner join shop_orders
        on shop_order_lines.order_id = shop_orders.order_id
),

store_lines as (
    select
        transaction_id as order_id,
        line_number,
        'store' as channel,
        'loyalty' as customer_source_system,
        loyalty_id as customer_source_record_id,
        transacted_at as ordered_at,
        case when quantity < 0 then 'returned' else 'completed' end as status,
        currency,
        store_id,
        product_id,
        quantity,
        unit_price_reporting,
        discount_reporting as discount_amount_reporting,
        is_return,
        true as counts_as_revenue
    from pos_transactions
),

lines as (
    select * from online_lines
    union all
    select * from store_lines
),

final as (
    select
        order_id,
        line_number,
        channel,
        customer_source_system,
        customer_source_record_id,
        ordered_at,
        status,
        currency,
        store_id,
        product_id,
        quantity,
        unit_price_reporting,
        cast(quantity * unit_price_reporting as decimal(18, 2)) as gross_amount_reporting,
        discount_amount_reporting,
        cast(
            case
                when not counts_as_revenue then 0
                when quantity < 0
                    {# a returned till line refunds what was paid: price less its discount #}
                    then quantity * unit_price_reporting + abs(discount_amount_reporting)
                else quantity * unit_price_reporting - discount_amount_reporting
            end as decimal(18, 2)
        ) as net_amount_reporting,
        is_return
    from lines
)

select * from final

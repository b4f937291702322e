{#- One row per online order or in-store transaction, summed from its lines. An online
    order without lines keeps its row (zero amounts); `status` of a till transaction is
    `returned` when it refunds more than it sells. -#}
with

order_lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

line_totals as (
    select
        order_id,
        channel,
        max(customer_source_system) as customer_source_system,
        max(customer_source_record_id) as customer_source_record_id,
        min(ordered_at) as ordered_at,
        max(currency) as currency,
        max(store_id) as store_id,
        cast(sum(gross_amount_reporting) as decimal(18, 2)) as gross_amount_reporting,
        cast(sum(discount_amount_reporting) as decimal(18, 2)) as discount_amount_reporting,
        cast(sum(net_amount_reporting) as decimal(18, 2)) as net_amount_reporting,
        cast(sum(quantity) as {{ dbt.type_bigint() }}) as item_count
    from order_lines
    group by order_id, channel
),

online_orders as (
    select
        shop_orders.order_id,
        'online' as channel,
        'shop' as customer_source_system,
        shop_orders.order_id as customer_source_record_id,
        shop_orders.ordered_at,
        shop_orders.status,
        shop_orders.currency,
        cast(null as {{ dbt.type_string() }}) as store_id,
        coalesce(line_totals.gross_amount_reporting, 0) as gross_amount_reporting,
        coalesce(line_totals.discount_amount_reporting, 0) as discount_amount_reporting,
        coalesce(line_totals.net_amount_reporting, 0) as net_amount_reporting,
        shop_orders.status = 'returned' as is_return,
        coalesce(line_totals.item_count, cast(0 as {{ dbt.type_bigint() }})) as item_count
    from shop_orders
    left join line_totals
        on
            shop_orders.order_id = line_totals.order_id
            and line_totals.channel = 'online'
),

store_transactions as (
    select
        order_id,
        channel,
        customer_source_system,
        customer_source_record_id,
        ordered_at,
        case when net_amount_reporting < 0 then 'returned' else 'completed' end as status,
        currency,
        store_id,
        gross_amount_reporting,
        discount_amount_reporting,
        net_amount_reporting,
        net_amount_reporting < 0 as is_return,
        item_count
    from line_totals
    where channel = 'store'
),

final as (
    select * from online_orders
    union all
    select * from store_transactions
)

select * from final

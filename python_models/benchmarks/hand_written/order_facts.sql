-- fct_order_lines and fct_orders by hand, from the same staging relations dbt reads: the
-- unioned lines are built once into a temporary table, rates come from left joins, and
-- both facts are read off that one table.
create or replace temp table yardstick_order_lines as
with

gbp_rates as (
    select currency, rate_month, rate
    from reference.currency_rates
    where reporting_currency = '{reporting_currency}'
),

online_lines as (
    select
        lines.order_id,
        lines.line_number,
        'online' as channel,
        'shop' as customer_source_system,
        lines.order_id as customer_source_record_id,
        orders.ordered_at,
        orders.status,
        orders.currency,
        null::varchar as store_id,
        lines.product_id,
        lines.quantity,
        cast(lines.unit_price * coalesce(monthly.rate, fallback.rate) as decimal(18, 2))
            as unit_price_reporting,
        cast(lines.discount * coalesce(monthly.rate, fallback.rate) as decimal(18, 2))
            as discount_amount_reporting,
        orders.status = 'returned' as is_return,
        orders.status = 'completed' as counts_as_revenue
    from staging.stg_shop__order_lines as lines
    inner join staging.stg_shop__orders as orders
        on lines.order_id = orders.order_id
    left join gbp_rates as monthly
        on monthly.currency = orders.currency
        and monthly.rate_month = date_trunc('month', orders.ordered_at)::date
    left join gbp_rates as fallback
        on fallback.currency = orders.currency
        and fallback.rate_month is null
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
    from staging.stg_pos__transactions
),

lines as (
    select * from online_lines
    union all
    select * from store_lines
)

select
    * exclude (counts_as_revenue),
    cast(quantity * unit_price_reporting as decimal(18, 2)) as gross_amount_reporting,
    cast(
        case
            when not counts_as_revenue then 0
            when quantity < 0
                then quantity * unit_price_reporting + abs(discount_amount_reporting)
            else quantity * unit_price_reporting - discount_amount_reporting
        end as decimal(18, 2)
    ) as net_amount_reporting
from lines;

create or replace table {scratch}.fct_order_lines as
select
    lines.order_id || '-' || lines.line_number::varchar as order_line_id,
    lines.order_id,
    lines.line_number,
    graph.customer_key,
    lines.channel,
    lines.ordered_at,
    lines.status,
    lines.currency,
    lines.store_id,
    lines.product_id,
    lines.quantity,
    lines.unit_price_reporting,
    lines.gross_amount_reporting,
    lines.discount_amount_reporting,
    lines.net_amount_reporting,
    lines.is_return
from yardstick_order_lines as lines
left join identity.identity_graph as graph
    on lines.customer_source_system = graph.source_system
    and lines.customer_source_record_id = graph.source_record_id;

create or replace table {scratch}.fct_orders as
with

line_totals as (
    select
        order_id,
        channel,
        max(customer_source_system) as customer_source_system,
        max(customer_source_record_id) as customer_source_record_id,
        min(ordered_at) as ordered_at,
        max(currency) as currency,
        max(store_id) as store_id,
        sum(gross_amount_reporting)::decimal(18, 2) as gross_amount_reporting,
        sum(discount_amount_reporting)::decimal(18, 2) as discount_amount_reporting,
        sum(net_amount_reporting)::decimal(18, 2) as net_amount_reporting,
        sum(quantity)::bigint as item_count
    from yardstick_order_lines
    group by order_id, channel
),

orders as (
    select
        orders.order_id,
        'online' as channel,
        'shop' as customer_source_system,
        orders.order_id as customer_source_record_id,
        orders.ordered_at,
        orders.status,
        orders.currency,
        null::varchar as store_id,
        coalesce(totals.gross_amount_reporting, 0) as gross_amount_reporting,
        coalesce(totals.discount_amount_reporting, 0) as discount_amount_reporting,
        coalesce(totals.net_amount_reporting, 0) as net_amount_reporting,
        orders.status = 'returned' as is_return,
        coalesce(totals.item_count, 0) as item_count
    from staging.stg_shop__orders as orders
    left join line_totals as totals
        on orders.order_id = totals.order_id
        and totals.channel = 'online'
    union all
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
)

select
    orders.order_id,
    graph.customer_key,
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
left join identity.identity_graph as graph
    on orders.customer_source_system = graph.source_system
    and orders.customer_source_record_id = graph.source_record_id;

drop table yardstick_order_lines;

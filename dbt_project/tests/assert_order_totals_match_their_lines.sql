-- An order's amounts are exactly the sum of its lines (no line lost or double-counted
-- between fct_order_lines and fct_orders). Returns the orders that disagree.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

line_totals as (
    select
        order_id,
        channel,
        sum(gross_amount_reporting) as gross_amount_reporting,
        sum(net_amount_reporting) as net_amount_reporting
    from order_lines
    group by order_id, channel
),

final as (
    select
        orders.order_id,
        orders.channel,
        orders.net_amount_reporting,
        line_totals.net_amount_reporting as lines_net_amount_reporting
    from orders
    inner join line_totals
        on orders.order_id = line_totals.order_id and orders.channel = line_totals.channel
    where
        orders.net_amount_reporting <> line_totals.net_amount_reporting
        or orders.gross_amount_reporting <> line_totals.gross_amount_reporting
)

select * from final

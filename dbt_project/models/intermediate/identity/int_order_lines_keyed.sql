{#- Every online order line and till line with the customer it belongs to, keyed like
    int_orders_keyed. fct_order_lines and the features read this. -#}
with

order_lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

identity_graph as (
    select * from {{ source('identity', 'identity_graph') }}
),

final as (
    select
        {{ dbt.concat([
            'order_lines.order_id',
            "'-'",
            'cast(order_lines.line_number as ' ~ dbt.type_string() ~ ')',
        ]) }} as order_line_id,
        order_lines.order_id,
        order_lines.line_number,
        identity_graph.customer_key,
        order_lines.channel,
        order_lines.ordered_at,
        order_lines.status,
        order_lines.currency,
        order_lines.store_id,
        order_lines.product_id,
        order_lines.quantity,
        order_lines.unit_price_reporting,
        order_lines.gross_amount_reporting,
        order_lines.discount_amount_reporting,
        order_lines.net_amount_reporting,
        order_lines.is_return
    from order_lines
    left join identity_graph
        on
            order_lines.customer_source_system = identity_graph.source_system
            and order_lines.customer_source_record_id = identity_graph.source_record_id
)

select * from final

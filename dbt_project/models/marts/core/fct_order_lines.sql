{#- Online order lines and till lines, one row each, with their customer
    (keyed in int_order_lines_keyed). -#}
with

order_lines as (
    select * from {{ ref('int_order_lines_keyed') }}
),

final as (
    select
        order_line_id,
        order_id,
        line_number,
        customer_key,
        channel,
        ordered_at,
        status,
        currency,
        store_id,
        product_id,
        quantity,
        unit_price_reporting,
        gross_amount_reporting,
        discount_amount_reporting,
        net_amount_reporting,
        is_return
    from order_lines
)

select * from final

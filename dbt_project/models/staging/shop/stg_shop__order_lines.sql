{#- Amounts are in the order's currency, which lives on the order: the reporting-currency
    amounts are made where lines meet their order (`int_order_lines_unioned`). -#}
with

source as (
    {{ valid_rows('raw', 'shop_order_lines') }}
),

renamed as (
    select
        {{ clean_string('order_id') }} as order_id,
        {{ dbt.safe_cast(clean_string('line_number'), 'integer') }} as line_number,
        {{ clean_string('product_id') }} as product_id,
        {{ dbt.safe_cast(clean_string('quantity'), 'integer') }} as quantity,
        {{ dbt.safe_cast(clean_string('unit_price'), 'decimal(18, 2)') }} as unit_price,
        coalesce(
            {{ dbt.safe_cast(clean_string('discount'), 'decimal(18, 2)') }}, 0
        ) as discount,
        {{ deleted_in_source('_extra') }} as is_deleted_in_source,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by order_id, line_number
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where order_id is not null and line_number is not null
),

final as (
    select
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount,
        _load_id,
        _loaded_at
    from latest_version
    -- a latest version that says the source deleted it: gone downstream, kept in raw
    where
        version_rank = 1
        and not is_deleted_in_source
)

select * from final

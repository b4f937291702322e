with

products as (
    select * from {{ ref('stg_catalog__products') }}
),

final as (
    select
        product_id,
        product_name,
        category,
        tags,
        price,
        currency,
        price_reporting
    from products
)

select * from final

{#- The catalogue, plus a row for every product sold or viewed that the catalogue lacks
    (e.g. a catalogue row held in quarantine), so joins from the facts never drop rows. -#}
with

products as (
    select * from {{ ref('stg_catalog__products') }}
),

shop_order_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

pos_transactions as (
    select * from {{ ref('stg_pos__transactions') }}
),

web_events as (
    select * from {{ ref('stg_web__events') }}
),

referenced_product_ids as (
    select product_id from shop_order_lines
    union
    select product_id from pos_transactions
    union
    select product_id from web_events
),

catalogue_rows as (
    select
        product_id,
        product_name,
        category,
        tags,
        price,
        currency,
        price_reporting,
        true as is_in_catalog
    from products
),

missing_from_catalogue as (
    select
        referenced_product_ids.product_id,
        cast(null as {{ dbt.type_string() }}) as product_name,
        cast(null as {{ dbt.type_string() }}) as category,
        {{ null_string_list() }} as tags,
        cast(null as decimal(18, 2)) as price,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as decimal(18, 2)) as price_reporting,
        false as is_in_catalog
    from referenced_product_ids
    where
        referenced_product_ids.product_id is not null
        and not exists (
            select 1
            from products
            where products.product_id = referenced_product_ids.product_id
        )
),

final as (
    select * from catalogue_rows
    union all
    select * from missing_from_catalogue
)

select * from final

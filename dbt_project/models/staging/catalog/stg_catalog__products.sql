with

source as (
    {{ valid_rows('raw', 'catalog_products') }}
),

renamed as (
    select
        {{ clean_string('product_id') }} as product_id,
        {{ normalize_name('name') }} as product_name,
        lower({{ clean_string('category') }}) as category,
        {{ clean_string('tags') }} as tags_as_written,
        {{ dbt.safe_cast(clean_string('price'), 'decimal(18, 2)') }} as price,
        upper({{ clean_string('currency') }}) as currency,
        {{ deleted_in_source('_extra') }} as is_deleted_in_source,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by product_id
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where product_id is not null
),

final as (
    select
        product_id,
        product_name,
        category,
        {{ split_to_list('lower(tags_as_written)', '|') }} as tags,
        price,
        currency,
        {{ to_reporting_currency('price', 'currency', as_of_timestamp()) }} as price_reporting,
        _load_id,
        _loaded_at
    from latest_version
    -- a product the shop database deleted: gone downstream, kept in raw
    where
        version_rank = 1
        and not is_deleted_in_source
)

select * from final

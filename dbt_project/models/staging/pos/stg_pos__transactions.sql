with

source as (
    {{ valid_rows('raw', 'pos_transactions') }}
),

renamed as (
    select
        {{ clean_string('transaction_id') }} as transaction_id,
        {{ dbt.safe_cast(clean_string('line_number'), 'integer') }} as line_number,
        {{ clean_string('store_id') }} as store_id,
        {{ clean_string('loyalty_id') }} as loyalty_id,
        {{ to_utc_timestamp('transacted_at') }} as transacted_at,
        {{ clean_string('product_id') }} as product_id,
        {{ dbt.safe_cast(clean_string('quantity'), 'integer') }} as quantity,
        {{ dbt.safe_cast(clean_string('unit_price'), 'decimal(18, 2)') }} as unit_price,
        coalesce(
            {{ dbt.safe_cast(clean_string('discount'), 'decimal(18, 2)') }}, 0
        ) as discount,
        upper({{ clean_string('currency') }}) as currency,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by transaction_id, line_number
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where transaction_id is not null and line_number is not null
),

final as (
    select
        transaction_id,
        line_number,
        store_id,
        loyalty_id,
        transacted_at,
        product_id,
        quantity,
        unit_price,
        discount,
        currency,
        {{ to_reporting_currency('unit_price', 'currency', 'transacted_at') }}
            as unit_price_reporting,
        {{ to_reporting_currency('discount', 'currency', 'transacted_at') }}
            as discount_reporting,
        quantity < 0 as is_return,
        _load_id,
        _loaded_at
    from latest_version
    where version_rank = 1
)

select * from final

with

source as (
    {{ valid_rows('raw', 'shop_orders') }}
),

country_aliases as (
    select * from {{ ref('country_aliases') }}
),

country_calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

renamed as (
    select
        {{ clean_string('order_id') }} as order_id,
        {{ clean_string('user_id') }} as user_id,
        {{ clean_string('crm_id') }} as crm_id,
        {{ normalize_email('customer_email') }} as email,
        {{ normalize_name('first_name') }} as given_name,
        {{ normalize_name('last_name') }} as family_name,
        {{ clean_string('phone') }} as phone_as_written,
        {{ normalize_name('ship_street') }} as ship_street,
        {{ normalize_name('ship_city') }} as ship_city,
        upper({{ clean_string('ship_postcode') }}) as ship_postcode,
        upper({{ clean_string('ship_country') }}) as ship_country_as_written,
        {{ to_utc_timestamp('ordered_at') }} as ordered_at,
        lower({{ clean_string('status') }}) as status,
        upper({{ clean_string('currency') }}) as currency,
        coalesce(
            {{ dbt.safe_cast(clean_string('shipping_amount'), 'decimal(18, 2)') }}, 0
        ) as shipping_amount,
        {{ deleted_in_source('_extra') }} as is_deleted_in_source,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by order_id
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where order_id is not null
),

final as (
    select
        latest_version.order_id,
        latest_version.user_id,
        latest_version.crm_id,
        latest_version.email,
        latest_version.given_name,
        latest_version.family_name,
        {{ normalize_phone(
            'latest_version.phone_as_written',
            'country_calling_codes.calling_code',
            'country_calling_codes.trunk_prefix',
        ) }} as phone,
        latest_version.ship_street,
        latest_version.ship_city,
        latest_version.ship_postcode,
        coalesce(
            country_aliases.country_code, latest_version.ship_country_as_written
        ) as ship_country,
        latest_version.ordered_at,
        latest_version.status,
        latest_version.currency,
        latest_version.shipping_amount,
        {{ to_reporting_currency(
            'latest_version.shipping_amount',
            'latest_version.currency',
            'latest_version.ordered_at',
        ) }} as shipping_amount_reporting,
        latest_version._load_id,
        latest_version._loaded_at
    from latest_version
    left join country_aliases
        on latest_version.ship_country_as_written = country_aliases.alias
    left join country_calling_codes
        on
            coalesce(country_aliases.country_code, '{{ var("default_country", "GB") }}')
            = country_calling_codes.country_code
    -- a latest version that says the source deleted it: gone downstream, kept in raw
    where
        latest_version.version_rank = 1
        and not latest_version.is_deleted_in_source
)

select * from final

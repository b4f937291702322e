-- stg_shop__orders and stg_shop__order_lines by hand: anti join the held-back rows, QUALIFY
-- the latest load per key, compute the phone's digits once, and look rates up with plain
-- left joins (monthly rate, else the currency's default) instead of scalar subqueries.
create or replace table {scratch}.stg_shop__orders as
with

valid_rows as (
    select raw_rows.*
    from raw.shop_orders as raw_rows
    anti join (
        select _load_id, _row_number from quarantine.shop_orders where released_at is null
    ) as held
        using (_load_id, _row_number)
),

latest as (
    select
        nullif(trim(order_id), '') as order_id,
        * exclude (order_id)
    from valid_rows
    where nullif(trim(order_id), '') is not null
    qualify row_number() over (
        partition by nullif(trim(order_id), '')
        order by _loaded_at desc, _load_id desc
    ) = 1
),

cleaned as (
    select
        order_id,
        nullif(trim(user_id), '') as user_id,
        nullif(trim(crm_id), '') as crm_id,
        lower(nullif(trim(customer_email), '')) as email,
        nullif(trim(nfc_normalize(first_name)), '') as given_name,
        nullif(trim(nfc_normalize(last_name)), '') as family_name,
        replace(nullif(trim(phone), ''), '(0)', '') as phone_written,
        regexp_replace(phone_written, '[^0-9]', '', 'g') as phone_digits,
        nullif(trim(nfc_normalize(ship_street)), '') as ship_street,
        nullif(trim(nfc_normalize(ship_city)), '') as ship_city,
        upper(nullif(trim(ship_postcode), '')) as ship_postcode,
        upper(nullif(trim(ship_country), '')) as ship_country_written,
        try_cast(trim(ordered_at) as timestamptz)::timestamp as ordered_at,
        lower(nullif(trim(status), '')) as status,
        upper(nullif(trim(currency), '')) as currency,
        coalesce(try_cast(nullif(trim(shipping_amount), '') as decimal(18, 2)), 0)
            as shipping_amount,
        _load_id,
        _loaded_at
    from latest
),

gbp_rates as (
    select currency, rate_month, rate
    from reference.currency_rates
    where reporting_currency = '{reporting_currency}'
),

with_lookups as (
    select
        cleaned.*,
        coalesce(aliases.country_code, cleaned.ship_country_written) as ship_country,
        case
            when cleaned.phone_digits = '' then null
            when cleaned.phone_written like '+%' then '+' || cleaned.phone_digits
            when cleaned.phone_digits like '00%' then '+' || substr(cleaned.phone_digits, 3)
            when codes.calling_code is null then null
            when codes.trunk_prefix is not null
                and starts_with(cleaned.phone_digits, codes.trunk_prefix)
                then '+' || codes.calling_code
                    || substr(cleaned.phone_digits, length(codes.trunk_prefix) + 1)
            else '+' || codes.calling_code || cleaned.phone_digits
        end as phone_candidate,
        cast(
            cleaned.shipping_amount * coalesce(monthly.rate, fallback.rate) as decimal(18, 2)
        ) as shipping_amount_reporting
    from cleaned
    left join reference.country_aliases as aliases
        on cleaned.ship_country_written = aliases.alias
    left join reference.country_calling_codes as codes
        on coalesce(aliases.country_code, '{default_country}') = codes.country_code
    left join gbp_rates as monthly
        on monthly.currency = cleaned.currency
        and monthly.rate_month = date_trunc('month', cleaned.ordered_at)::date
    left join gbp_rates as fallback
        on fallback.currency = cleaned.currency
        and fallback.rate_month is null
)

select
    order_id,
    user_id,
    crm_id,
    email,
    given_name,
    family_name,
    case
        when regexp_full_match(phone_candidate, '[+][1-9][0-9]{{7,14}}') then phone_candidate
    end as phone,
    ship_street,
    ship_city,
    ship_postcode,
    ship_country,
    ordered_at,
    status,
    currency,
    shipping_amount,
    shipping_amount_reporting,
    _load_id,
    _loaded_at
from with_lookups;

create or replace table {scratch}.stg_shop__order_lines as
with

valid_rows as (
    select raw_rows.*
    from raw.shop_order_lines as raw_rows
    anti join (
        select _load_id, _row_number from quarantine.shop_order_lines where released_at is null
    ) as held
        using (_load_id, _row_number)
),

typed as (
    select
        nullif(trim(order_id), '') as order_id,
        try_cast(nullif(trim(line_number), '') as integer) as line_number,
        nullif(trim(product_id), '') as product_id,
        try_cast(nullif(trim(quantity), '') as integer) as quantity,
        try_cast(nullif(trim(unit_price), '') as decimal(18, 2)) as unit_price,
        coalesce(try_cast(nullif(trim(discount), '') as decimal(18, 2)), 0) as discount,
        _load_id,
        _loaded_at
    from valid_rows
)

select *
from typed
where order_id is not null and line_number is not null
qualify row_number() over (
    partition by order_id, line_number
    order by _loaded_at desc, _load_id desc
) = 1;

{{ config(materialized="table") }}
{#- A table, not a view: the largest staging model, read by int_person_records_unioned and
    fct_events; parsing its JSON once is cheaper than once per reader. -#}
with

source as (
    {{ valid_rows('raw', 'web_events') }}
),

renamed as (
    select
        {{ clean_string('event_id') }} as event_id,
        lower({{ clean_string('event_name') }}) as event_name,
        {{ clean_string('anonymous_id') }} as anonymous_id,
        {{ clean_string('user_id') }} as user_id,
        {{ clean_string('session_id') }} as session_id,
        lower({{ clean_string('device') }}) as device,
        lower({{ clean_string('channel') }}) as channel,
        lower({{ clean_string('utm_source') }}) as utm_source,
        lower({{ clean_string('utm_campaign') }}) as utm_campaign,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ clean_string(json_get_string('properties', 'product_id')) }} as product_id,
        lower({{ clean_string(json_get_string('properties', 'category')) }}) as category,
        {{ dbt.safe_cast(json_get_string('properties', 'price'), 'decimal(18, 2)') }} as price,
        {{ dbt.safe_cast(json_get_string('properties', 'quantity'), 'integer') }} as quantity,
        {{ dbt.safe_cast(json_get_string('properties', 'cart_value'), 'decimal(18, 2)') }}
            as cart_value,
        {{ dbt.safe_cast(json_get_string('properties', 'dwell_seconds'), 'double') }}
            as dwell_seconds,
        {{ dbt.safe_cast(json_get_string('properties', 'scroll_depth'), 'double') }}
            as scroll_depth,
        {{ clean_string(json_get_string('properties', 'query')) }} as search_query,
        {{ clean_string(json_get_string('properties', 'order_id')) }} as order_id,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by event_id
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where event_id is not null
),

final as (
    select
        event_id,
        event_name,
        anonymous_id,
        user_id,
        session_id,
        device,
        channel,
        utm_source,
        utm_campaign,
        occurred_at,
        product_id,
        category,
        price,
        quantity,
        cart_value,
        dwell_seconds,
        scroll_depth,
        search_query,
        order_id,
        _load_id,
        _loaded_at
    from latest_version
    where version_rank = 1
)

select * from final

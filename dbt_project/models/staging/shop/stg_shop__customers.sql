with

source as (
    {{ valid_rows('raw', 'shop_customers') }}
),

renamed as (
    select
        {{ clean_string('user_id') }} as user_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_name('first_name') }} as given_name,
        {{ normalize_name('last_name') }} as family_name,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ deleted_in_source('_extra') }} as is_deleted_in_source,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by user_id
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where user_id is not null
),

final as (
    select
        user_id,
        email,
        given_name,
        family_name,
        created_at,
        updated_at,
        _load_id,
        _loaded_at
    from latest_version
    -- an account the shop deleted: gone downstream, kept in raw
    where
        version_rank = 1
        and not is_deleted_in_source
)

select * from final

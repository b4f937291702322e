with

source as (
    {{ valid_rows('raw', 'crm_contacts') }}
),

country_aliases as (
    select * from {{ ref('country_aliases') }}
),

country_calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

renamed as (
    select
        {{ clean_string('crm_id') }} as crm_id,
        {{ normalize_name('first_name') }} as given_name,
        {{ normalize_name('last_name') }} as family_name,
        {{ normalize_email('email') }} as email,
        {{ clean_string('phone') }} as phone_as_written,
        {{ normalize_name('street') }} as street,
        {{ normalize_name('city') }} as city,
        upper({{ clean_string('postcode') }}) as postcode,
        upper({{ clean_string('country') }}) as country_as_written,
        {{ parse_date(clean_string('birth_date'), is_month_first_country('country')) }} as birth_date,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by crm_id
            order by _loaded_at desc, updated_at desc nulls last, _load_id desc
        ) as version_rank
    from renamed
    where crm_id is not null
),

final as (
    select
        latest_version.crm_id,
        latest_version.given_name,
        latest_version.family_name,
        latest_version.email,
        {{ normalize_phone(
            'latest_version.phone_as_written',
            'country_calling_codes.calling_code',
            'country_calling_codes.trunk_prefix',
        ) }} as phone,
        latest_version.street,
        latest_version.city,
        latest_version.postcode,
        coalesce(country_aliases.country_code, latest_version.country_as_written) as country,
        latest_version.birth_date,
        latest_version.created_at,
        latest_version.updated_at,
        latest_version._load_id,
        latest_version._loaded_at
    from latest_version
    left join country_aliases
        on latest_version.country_as_written = country_aliases.alias
    left join country_calling_codes
        on
            coalesce(country_aliases.country_code, '{{ var("default_country", "GB") }}')
            = country_calling_codes.country_code
    where latest_version.version_rank = 1
)

select * from final

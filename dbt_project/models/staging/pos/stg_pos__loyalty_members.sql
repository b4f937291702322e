with

source as (
    {{ valid_rows('raw', 'pos_loyalty_members') }}
),

country_calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

postcode_formats as (
    select * from {{ ref('postcode_formats') }}
),

renamed as (
    select
        {{ clean_string('loyalty_id') }} as loyalty_id,
        {{ normalize_name('first_name') }} as given_name,
        {{ normalize_name('last_name') }} as family_name,
        {{ normalize_email('email') }} as email,
        {{ clean_string('phone') }} as phone_as_written,
        {{ phone_digits('phone') }} as phone_digits,
        upper({{ clean_string('postcode') }}) as postcode,
        {{ parse_date(clean_string('birth_date')) }} as birth_date,
        lower({{ clean_string('tier') }}) as tier,
        {{ dbt.safe_cast(clean_string('points'), 'integer') }} as points,
        {{ to_utc_timestamp('enrolled_at') }} as enrolled_at,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by loyalty_id
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where loyalty_id is not null
),

{#
    Members carry no country, and stores are in several. A phone written in national form
    (`0612 …`) is read in the country whose postcode format the member's postcode has and
    whose national number length fits the phone (5-digit postcodes are US, FR or DE: a
    10-digit number without a leading 0 is American, `0` + 9 digits French, longer German);
    the `postcode_formats` seed's priority breaks remaining ties. No fit: the default country.
#}
country_candidates as (
    select
        latest_version.loyalty_id,
        postcode_formats.country_code,
        row_number() over (
            partition by latest_version.loyalty_id
            order by postcode_formats.priority asc, postcode_formats.country_code asc
        ) as candidate_rank
    from latest_version
    inner join postcode_formats
        on {{ regexp_full_match_column(
            "replace(latest_version.postcode, ' ', '')", 'postcode_formats.postcode_pattern'
        ) }}
    inner join country_calling_codes
        on postcode_formats.country_code = country_calling_codes.country_code
    where
        latest_version.version_rank = 1
        and (
            latest_version.phone_digits is null
            or latest_version.phone_digits = ''
            or {{ phone_is_international('latest_version.phone_as_written') }}
            or (
                {# a leading 0 is a trunk prefix, which e.g. US numbers never have #}
                (
                    latest_version.phone_digits not like '0%'
                    or coalesce(country_calling_codes.trunk_prefix, '0') = '0'
                )
                and case
                    when
                        latest_version.phone_digits
                        like country_calling_codes.trunk_prefix || '%'
                        then
                            length(latest_version.phone_digits)
                            - length(country_calling_codes.trunk_prefix)
                    else length(latest_version.phone_digits)
                end between country_calling_codes.national_digits_min
                and country_calling_codes.national_digits_max
            )
        )
),

with_country as (
    select
        latest_version.*,
        coalesce(
            country_candidates.country_code, '{{ var("default_country", "GB") }}'
        ) as inferred_country
    from latest_version
    left join country_candidates
        on
            latest_version.loyalty_id = country_candidates.loyalty_id
            and country_candidates.candidate_rank = 1
    where latest_version.version_rank = 1
),

final as (
    select
        with_country.loyalty_id,
        with_country.given_name,
        with_country.family_name,
        with_country.email,
        {{ normalize_phone(
            'with_country.phone_as_written',
            'country_calling_codes.calling_code',
            'country_calling_codes.trunk_prefix',
        ) }} as phone,
        with_country.postcode,
        with_country.inferred_country,
        with_country.birth_date,
        with_country.tier,
        with_country.points,
        with_country.enrolled_at,
        with_country._load_id,
        with_country._loaded_at
    from with_country
    left join country_calling_codes
        on with_country.inferred_country = country_calling_codes.country_code
)

select * from final

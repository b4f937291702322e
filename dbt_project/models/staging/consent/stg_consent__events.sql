with

source as (
    {{ valid_rows('raw', 'consent_events') }}
),

country_calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

renamed as (
    select
        {{ clean_string('consent_event_id') }} as consent_event_id,
        {{ clean_string('identifier') }} as identifier_as_written,
        lower({{ clean_string('identifier_type') }}) as identifier_type,
        lower({{ clean_string('purpose') }}) as purpose,
        lower({{ clean_string('status') }}) as status,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        lower({{ clean_string('source') }}) as consent_source,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by consent_event_id
            order by _loaded_at desc, _load_id desc
        ) as version_rank
    from renamed
    where consent_event_id is not null
),

{# Consent phones carry no country: read national numbers in the default country. #}
default_country_code as (
    select
        calling_code,
        trunk_prefix
    from country_calling_codes
    where country_code = '{{ var("default_country", "GB") }}'
),

final as (
    select
        latest_version.consent_event_id,
        case latest_version.identifier_type
            when 'email' then {{ normalize_email('latest_version.identifier_as_written') }}
            when 'phone' then {{ normalize_phone(
                'latest_version.identifier_as_written',
                'default_country_code.calling_code',
                'default_country_code.trunk_prefix',
            ) }}
        end as identifier,
        {#- what consent is matched to customers on: the email, or for a phone (whose
            country a consent record does not say) its last nine digits -#}
        case latest_version.identifier_type
            when 'email' then {{ normalize_email('latest_version.identifier_as_written') }}
            when 'phone' then {{ phone_match_key('latest_version.identifier_as_written') }}
        end as identifier_match_key,
        latest_version.identifier_type,
        latest_version.purpose,
        latest_version.status,
        case latest_version.status
            when 'granted' then true
            when 'withdrawn' then false
        end as is_granted,
        latest_version.occurred_at,
        latest_version.consent_source,
        latest_version._load_id,
        latest_version._loaded_at
    from latest_version
    left join default_country_code on 1 = 1
    where latest_version.version_rank = 1
)

select * from final

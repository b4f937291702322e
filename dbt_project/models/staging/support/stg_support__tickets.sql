with

source as (
    {{ valid_rows('raw', 'support_tickets') }}
),

renamed as (
    select
        {{ clean_string('ticket_id') }} as ticket_id,
        {{ normalize_email('customer_email') }} as email,
        lower({{ clean_string('channel') }}) as channel,
        lower({{ clean_string('topic') }}) as topic,
        {{ to_utc_timestamp('opened_at') }} as opened_at,
        {{ to_utc_timestamp('closed_at') }} as closed_at,
        {{ dbt.safe_cast(clean_string('satisfaction_score'), 'integer') }} as satisfaction_score,
        _load_id,
        _loaded_at
    from source
),

latest_version as (
    select
        *,
        row_number() over (
            partition by ticket_id
            order by _loaded_at desc, closed_at desc nulls last, _load_id desc
        ) as version_rank
    from renamed
    where ticket_id is not null
),

final as (
    select
        ticket_id,
        email,
        channel,
        topic,
        opened_at,
        closed_at,
        satisfaction_score,
        _load_id,
        _loaded_at
    from latest_version
    where version_rank = 1
)

select * from final

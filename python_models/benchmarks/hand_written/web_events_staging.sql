-- stg_web__events by hand. The costly part is keeping the latest load of each event: a
-- window over whole rows drags every wide column (JSON text) through the partitioning, so
-- the winners are picked on (rowid, key, load) alone and the rows fetched by rowid. The
-- `properties` JSON is parsed once per row with a multi-path json_extract_string.
create or replace table {scratch}.stg_web__events as
with

valid_keys as (
    select
        raw_rows.rowid as raw_rowid,
        nullif(trim(raw_rows.event_id), '') as event_id,
        raw_rows._loaded_at,
        raw_rows._load_id
    from raw.web_events as raw_rows
    anti join (
        select _load_id, _row_number from quarantine.web_events where released_at is null
    ) as held
        using (_load_id, _row_number)
    where nullif(trim(raw_rows.event_id), '') is not null
),

latest_rowids as (
    select raw_rowid
    from valid_keys
    qualify row_number() over (
        partition by event_id
        order by _loaded_at desc, _load_id desc
    ) = 1
),

latest as (
    select
        raw_rows.*,
        json_extract_string(
            try_cast(raw_rows.properties as json),
            [
                '$.product_id', '$.category', '$.price', '$.quantity',
                '$.cart_value', '$.dwell_seconds', '$.scroll_depth', '$.query', '$.order_id'
            ]
        ) as props
    from raw.web_events as raw_rows
    semi join latest_rowids
        on raw_rows.rowid = latest_rowids.raw_rowid
)

select
    nullif(trim(event_id), '') as event_id,
    lower(nullif(trim(event_name), '')) as event_name,
    nullif(trim(anonymous_id), '') as anonymous_id,
    nullif(trim(user_id), '') as user_id,
    nullif(trim(session_id), '') as session_id,
    lower(nullif(trim(device), '')) as device,
    lower(nullif(trim(channel), '')) as channel,
    lower(nullif(trim(utm_source), '')) as utm_source,
    lower(nullif(trim(utm_campaign), '')) as utm_campaign,
    try_cast(trim(occurred_at) as timestamptz)::timestamp as occurred_at,
    nullif(trim(props[1]), '') as product_id,
    lower(nullif(trim(props[2]), '')) as category,
    try_cast(props[3] as decimal(18, 2)) as price,
    try_cast(props[4] as integer) as quantity,
    try_cast(props[5] as decimal(18, 2)) as cart_value,
    try_cast(props[6] as double) as dwell_seconds,
    try_cast(props[7] as double) as scroll_depth,
    nullif(trim(props[8]), '') as search_query,
    nullif(trim(props[9]), '') as order_id,
    _load_id,
    _loaded_at
from latest;

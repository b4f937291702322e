{#- Spells of segment membership: one row per (customer, segment, entered_at).

    Each run at `as_of` = T compares the current members with the spells open just before T:
    open spells still matched stay open, unmatched ones close with exited_at = T, and new
    members open a spell entered at T. "Now" is the var `as_of`, never the wall clock, so:
      - re-running the same T is idempotent: the pre-hook removes spells entered at or after
        T and spells closed at or after T are treated as still open, then T is re-applied;
      - a back-fill at an earlier T rewinds history to T; replay later as_of values in
        ascending order afterwards (docs/decisions/0004-rule-segments.md). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['customer_key', 'segment', 'entered_at'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where entered_at >= {{ segments_as_of() }}{% endif %}",
) }}

with

current_members as (
    select * from {{ ref('int_segment_members_unioned') }}
),

{% if is_incremental() %}
    spells_open_before_as_of as (
        select
            customer_key,
            segment,
            segment_type,
            entered_at
        from {{ this }}
        where
            entered_at < {{ segments_as_of() }}
            and (exited_at is null or exited_at >= {{ segments_as_of() }})
    ),
{% else %}
    spells_open_before_as_of as (
        select
            customer_key,
            segment,
            segment_type,
            cast(null as timestamp) as entered_at
        from current_members
        where 1 = 0
    ),
{% endif %}

spells_continued_or_closed as (
    select
        spells_open_before_as_of.customer_key,
        spells_open_before_as_of.segment,
        spells_open_before_as_of.segment_type,
        spells_open_before_as_of.entered_at,
        case
            when current_members.customer_key is null then {{ segments_as_of() }}
        end as exited_at
    from spells_open_before_as_of
    left join current_members
        on
            spells_open_before_as_of.customer_key = current_members.customer_key
            and spells_open_before_as_of.segment = current_members.segment
),

spells_entered as (
    select
        current_members.customer_key,
        current_members.segment,
        current_members.segment_type,
        {{ segments_as_of() }} as entered_at,
        cast(null as timestamp) as exited_at
    from current_members
    left join spells_open_before_as_of
        on
            current_members.customer_key = spells_open_before_as_of.customer_key
            and current_members.segment = spells_open_before_as_of.segment
    where spells_open_before_as_of.customer_key is null
),

final as (
    select
        customer_key,
        segment,
        segment_type,
        entered_at,
        exited_at
    from spells_continued_or_closed
    union all
    select
        customer_key,
        segment,
        segment_type,
        entered_at,
        exited_at
    from spells_entered
)

select * from final

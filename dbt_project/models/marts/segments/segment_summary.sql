{#- Per run (`as_of`) and segment: members at as_of, customers who entered and who exited at
    this run. One block of rows per as_of, kept across runs; re-running an as_of replaces its
    rows and a back-fill removes the rows of later runs (they are replayed). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where as_of >= {{ segments_as_of() }}{% endif %}",
) }}

with

membership_history as (
    select * from {{ ref('segment_membership_history') }}
),

spells_touching_as_of as (
    select
        segment,
        segment_type,
        case when exited_at is null then 1 else 0 end as is_member,
        case when entered_at = {{ segments_as_of() }} then 1 else 0 end as is_entry,
        case when exited_at = {{ segments_as_of() }} then 1 else 0 end as is_exit
    from membership_history
    where
        exited_at is null
        or exited_at = {{ segments_as_of() }}
),

final as (
    select
        {{ segments_as_of() }} as as_of,
        segment,
        segment_type,
        cast(sum(is_member) as bigint) as members,
        cast(sum(is_entry) as bigint) as entries,
        cast(sum(is_exit) as bigint) as exits
    from spells_touching_as_of
    group by segment, segment_type
)

select * from final

{#- Current segment membership at `as_of` across RFM, lifecycle and rule segments, with the
    time the customer's current spell in the segment began. The table email tools read. -#}
{%- set string_type = api.Column.translate_type('string') -%}

with

membership_history as (
    select * from {{ ref('segment_membership_history') }}
),

final as (
    select
        cast(customer_key as {{ string_type }}) as customer_key,
        cast(segment as {{ string_type }}) as segment,
        cast(segment_type as {{ string_type }}) as segment_type,
        cast(entered_at as timestamp) as since,
        {{ segments_as_of() }} as as_of
    from membership_history
    where
        exited_at is null
        and entered_at <= {{ segments_as_of() }}
)

select * from final

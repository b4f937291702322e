{#- RFM per customer known at `as_of`: the mart email tools and analysts read.
    Logic (window, netting, tie handling, segment names) lives in int_customer_rfm_scored. -#}
{%- set string_type = api.Column.translate_type('string') -%}

with

rfm_scored as (
    select * from {{ ref('int_customer_rfm_scored') }}
),

final as (
    select
        cast(customer_key as {{ string_type }}) as customer_key,
        {{ segments_as_of() }} as as_of,
        cast({{ var('rfm_window_days', 365) | int }} as integer) as rfm_window_days,
        cast(recency_days as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as decimal(18, 2)) as monetary,
        cast(r_score as integer) as r_score,
        cast(f_score as integer) as f_score,
        cast(m_score as integer) as m_score,
        cast(fm_score as integer) as fm_score,
        cast(rfm_score as {{ string_type }}) as rfm_score,
        cast(rfm_segment as {{ string_type }}) as rfm_segment,
        cast(customer_state as {{ string_type }}) as customer_state
    from rfm_scored
)

select * from final

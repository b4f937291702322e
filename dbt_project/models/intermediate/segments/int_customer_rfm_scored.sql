{#- Recency, frequency and monetary quintiles for customers who bought within the RFM window,
    and the named RFM segment from the editable seed `rfm_segment_map`.

    Scores: `ntile(5)` over the value with `customer_key` as a deterministic tie-breaker, then
    every customer sharing a value takes the lowest tile that value reached, so equal behaviour
    always gets an equal score (and the result does not depend on customer keys). 5 is best:
    most recent, most frequent, highest spend. `fm_score` is the rounded-half-up mean of F and M.

    Customers without a purchase in the window keep their row with null scores; their
    segment comes from the seed `rfm_unscored_segments` by state: 'lapsed' (bought before
    the window: 'Lost') or 'never_purchased' ('No Purchases'). -#}
{%- set string_type = api.Column.translate_type('string') -%}

with

customer_orders as (
    select * from {{ ref('int_customer_orders_summarised') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

unscored_segments as (
    select * from {{ ref('rfm_unscored_segments') }}
),

customer_states as (
    select
        customer_key,
        days_since_last_purchase as recency_days,
        window_purchases as frequency,
        window_net_spend as monetary,
        case
            when window_purchases > 0 then 'scored'
            when lifetime_purchases > 0 then 'lapsed'
            else 'never_purchased'
        end as customer_state
    from customer_orders
),

tiles as (
    select
        customer_key,
        recency_days,
        frequency,
        monetary,
        ntile(5) over (order by recency_days desc, customer_key asc) as r_tile,
        ntile(5) over (order by frequency asc, customer_key asc) as f_tile,
        ntile(5) over (order by monetary asc, customer_key asc) as m_tile
    from customer_states
    where customer_state = 'scored'
),

scores as (
    select
        customer_key,
        min(r_tile) over (partition by recency_days) as r_score,
        min(f_tile) over (partition by frequency) as f_score,
        min(m_tile) over (partition by monetary) as m_score
    from tiles
),

scores_combined as (
    select
        customer_key,
        r_score,
        f_score,
        m_score,
        cast(floor((f_score + m_score + 1) / 2.0) as integer) as fm_score,
        {{ dbt.concat([
            dbt.safe_cast('r_score', string_type),
            dbt.safe_cast('f_score', string_type),
            dbt.safe_cast('m_score', string_type),
        ]) }} as rfm_score
    from scores
),

final as (
    select
        customer_states.customer_key,
        customer_states.recency_days,
        customer_states.frequency,
        customer_states.monetary,
        scores_combined.r_score,
        scores_combined.f_score,
        scores_combined.m_score,
        scores_combined.fm_score,
        scores_combined.rfm_score,
        coalesce(segment_map.segment_name, unscored_segments.segment_name) as rfm_segment,
        customer_states.customer_state
    from customer_states
    left join scores_combined
        on customer_states.customer_key = scores_combined.customer_key
    left join segment_map
        on
            scores_combined.r_score between segment_map.r_score_min and segment_map.r_score_max
            and scores_combined.fm_score
            between segment_map.fm_score_min and segment_map.fm_score_max
    left join unscored_segments
        on customer_states.customer_state = unscored_segments.customer_state
)

select * from final

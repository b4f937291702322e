-- customer_rfm by hand: one aggregate over fct_orders with FILTER clauses, quintiles with
-- ntile() then "equal value, equal score" via min() over the value, seeds joined last.
create or replace table {scratch}.customer_rfm as
with

order_stats as (
    select
        customer_key,
        max(ordered_at) filter (is_purchase) as last_purchase_at,
        count(*) filter (is_purchase) as lifetime_purchases,
        count(*) filter (is_purchase and in_window) as window_purchases,
        coalesce(sum(netted_amount) filter (in_window), 0) as window_net_spend
    from (
        select
            customer_key,
            ordered_at,
            status = 'completed' and not coalesce(is_return, false) as is_purchase,
            ordered_at > timestamp '{as_of}' - interval {rfm_window_days} day as in_window,
            case
                when status = 'cancelled' then 0
                when coalesce(is_return, false) then -abs(net_amount_reporting)
                else net_amount_reporting
            end as netted_amount
        from marts.fct_orders
        where customer_key is not null and ordered_at <= timestamp '{as_of}'
    )
    group by customer_key
),

customer_states as (
    select
        customers.customer_key,
        date_diff('day', stats.last_purchase_at, timestamp '{as_of}') as recency_days,
        coalesce(stats.window_purchases, 0) as frequency,
        coalesce(stats.window_net_spend, 0)::decimal(18, 2) as monetary,
        case
            when stats.window_purchases > 0 then 'scored'
            when stats.lifetime_purchases > 0 then 'lapsed'
            else 'never_purchased'
        end as customer_state
    from intermediate.int_customers_profiled as customers
    left join order_stats as stats
        on customers.customer_key = stats.customer_key
    where customers.first_seen_at is null or customers.first_seen_at <= timestamp '{as_of}'
),

tiles as (
    select
        customer_key,
        recency_days,
        frequency,
        monetary,
        ntile(5) over (order by recency_days desc, customer_key) as r_tile,
        ntile(5) over (order by frequency, customer_key) as f_tile,
        ntile(5) over (order by monetary, customer_key) as m_tile
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

scored as (
    select
        *,
        floor((f_score + m_score + 1) / 2.0)::integer as fm_score,
        r_score::varchar || f_score::varchar || m_score::varchar as rfm_score
    from scores
)

select
    states.customer_key,
    timestamp '{as_of}' as as_of,
    {rfm_window_days}::integer as rfm_window_days,
    states.recency_days::integer as recency_days,
    states.frequency::integer as frequency,
    states.monetary,
    scored.r_score::integer as r_score,
    scored.f_score::integer as f_score,
    scored.m_score::integer as m_score,
    scored.fm_score,
    scored.rfm_score,
    coalesce(segment_map.segment_name, unscored.segment_name) as rfm_segment,
    states.customer_state
from customer_states as states
left join scored
    on states.customer_key = scored.customer_key
left join reference.rfm_segment_map as segment_map
    on scored.r_score between segment_map.r_score_min and segment_map.r_score_max
    and scored.fm_score between segment_map.fm_score_min and segment_map.fm_score_max
left join reference.rfm_unscored_segments as unscored
    on states.customer_state = unscored.customer_state;

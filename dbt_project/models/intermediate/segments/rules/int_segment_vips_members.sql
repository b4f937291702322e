-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.
-- vips: RFM Champions, or anyone who spent 1000 or more in the last 365 days.
-- owner: crm-team

{{ config(materialized='table', tags=['segment', 'rule_segment']) }}

with

traits as (
    select * from {{ ref('int_customer_traits_joined') }}
),

orders as (
    select * from {{ ref('int_orders_keyed') }}
),

spend_365d as (
    select
        customer_key,
        sum(
            case
                when status = 'cancelled' then 0
                when coalesce(is_return, false) then -abs(net_amount_reporting)
                else net_amount_reporting
            end
        ) as metric_value
    from orders
    where
        customer_key is not null
        and ordered_at > {{ segments_window_start(365, 'day') }} and ordered_at <= {{ segments_as_of() }}
    group by customer_key
),

final as (
    select
        traits.customer_key,
        'vips' as segment,
        {{ segments_as_of() }} as as_of
    from traits
    left join spend_365d
        on traits.customer_key = spend_365d.customer_key
    where (
        coalesce(traits.rfm_segment = 'Champions', false)
        or coalesce(spend_365d.metric_value, 0) >= 1000
    )
)

select * from final

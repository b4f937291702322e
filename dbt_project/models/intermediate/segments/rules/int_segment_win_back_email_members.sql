-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.
-- win_back_email: Valuable customers drifting away who agreed to marketing email and have not bought in the last 90 days.
-- owner: crm-team

{{ config(materialized='table', tags=['segment', 'rule_segment']) }}

with

traits as (
    select * from {{ ref('int_customer_traits_joined') }}
),

orders as (
    select * from {{ ref('int_orders_keyed') }}
),

orders_90d as (
    select
        customer_key,
        count(*) as metric_value
    from orders
    where
        customer_key is not null
        and status = 'completed'
        and not coalesce(is_return, false)
        and ordered_at > {{ segments_window_start(90, 'day') }} and ordered_at <= {{ segments_as_of() }}
    group by customer_key
),

final as (
    select
        traits.customer_key,
        'win_back_email' as segment,
        {{ segments_as_of() }} as as_of
    from traits
    left join orders_90d
        on traits.customer_key = orders_90d.customer_key
    where (
        coalesce(traits.consent_email_marketing = true, false)
        and coalesce(traits.rfm_segment in ('At Risk', 'Can''t Lose Them'), false)
        and not coalesce(orders_90d.metric_value, 0) > 0
    )
)

select * from final

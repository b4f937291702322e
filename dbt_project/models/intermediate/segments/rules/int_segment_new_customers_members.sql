-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.
-- new_customers: Made their first purchase (online or in store) in the last 30 days.
-- owner: crm-team

{{ config(materialized='table', tags=['segment', 'rule_segment']) }}

with

traits as (
    select * from {{ ref('int_customer_traits_joined') }}
),

final as (
    select
        traits.customer_key,
        'new_customers' as segment,
        {{ segments_as_of() }} as as_of
    from traits
    where coalesce(traits.days_since_first_order <= 30, false)
)

select * from final

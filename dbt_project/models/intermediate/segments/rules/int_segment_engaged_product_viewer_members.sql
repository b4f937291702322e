-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.
-- engaged_product_viewer: Viewed the same product at least 3 times in the last 7 days.
-- owner: merchandising

{{ config(materialized='table', tags=['segment', 'rule_segment']) }}

with

traits as (
    select * from {{ ref('int_customer_traits_joined') }}
),

events as (
    select * from {{ ref('int_events_keyed') }}
),

max_views_of_one_product_7d as (
    select
        customer_key,
        max(product_views) as metric_value
    from (
        select
            customer_key,
            product_id,
            count(*) as product_views
        from events
        where
            customer_key is not null
            and event_name = 'product_view'
            and product_id is not null
            and occurred_at > {{ segments_window_start(7, 'day') }} and occurred_at <= {{ segments_as_of() }}
        group by customer_key, product_id
    ) as views_per_product
    group by customer_key
),

final as (
    select
        traits.customer_key,
        'engaged_product_viewer' as segment,
        {{ segments_as_of() }} as as_of
    from traits
    left join max_views_of_one_product_7d
        on traits.customer_key = max_views_of_one_product_7d.customer_key
    where coalesce(max_views_of_one_product_7d.metric_value, 0) >= 3
)

select * from final

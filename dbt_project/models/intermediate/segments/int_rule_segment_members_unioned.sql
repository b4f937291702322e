-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `customer360 segments compile`.

with

rule_segment_members as (
    select
        customer_key,
        segment
    from {{ ref('int_segment_engaged_product_viewer_members') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('int_segment_high_engagement_members') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('int_segment_high_purchase_intent_members') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('int_segment_new_customers_members') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('int_segment_vips_members') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('int_segment_win_back_email_members') }}
),

final as (
    select
        customer_key,
        segment,
        'rule' as segment_type
    from rule_segment_members
)

select * from final

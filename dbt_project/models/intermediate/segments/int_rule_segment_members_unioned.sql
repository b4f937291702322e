-- generated from segments.yml — do not edit.
-- Change dbt_project/segments/segments.yml, then run
-- `python -m python_models.segments compile`.

with

rule_segment_members as (
    select
        customer_key,
        segment
    from {{ ref('seg_engaged_product_viewer') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('seg_high_engagement') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('seg_high_purchase_intent') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('seg_new_customers') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('seg_vips') }}
    union all
    select
        customer_key,
        segment
    from {{ ref('seg_win_back_email') }}
),

final as (
    select
        customer_key,
        segment,
        'rule' as segment_type
    from rule_segment_members
)

select * from final

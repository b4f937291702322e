{#- Who is in which segment at `as_of`: RFM segments, lifecycle stages and rule segments in
    one shape. Segment names are unique across types: RFM and lifecycle names are Title Case
    ("Champions", "Loyal Customer"), rule segment names are snake_case. -#}

with

rfm as (
    select * from {{ ref('int_customer_rfm_scored') }}
),

lifecycle as (
    select * from {{ ref('int_customer_lifecycle_assigned') }}
),

rule_segment_members as (
    select * from {{ ref('int_rule_segment_members_unioned') }}
),

rfm_members as (
    select
        customer_key,
        rfm_segment as segment,
        'rfm' as segment_type
    from rfm
    where rfm_segment is not null
),

lifecycle_members as (
    select
        customer_key,
        lifecycle_stage as segment,
        'lifecycle' as segment_type
    from lifecycle
),

final as (
    select
        customer_key,
        segment,
        segment_type
    from rfm_members
    union all
    select
        customer_key,
        segment,
        segment_type
    from lifecycle_members
    union all
    select
        customer_key,
        segment,
        segment_type
    from rule_segment_members
)

select * from final

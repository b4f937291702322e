{#- Who is in which segment at `as_of`: RFM segments, lifecycle stages and rule segments in
    one shape. Segment names are unique across types and all snake_case: the RFM and lifecycle
    display names ("Can't Lose Them", "Loyal Customer") become cant_lose_them, loyal_customer;
    rule segment names are written so in segments.yml. -#}

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
        {{ segment_name('rfm_segment') }} as segment,
        'rfm' as segment_type
    from rfm
    -- never-purchased customers have no RFM scores; they are the lifecycle stage "Browser",
    -- and a second segment holding exactly the same people would only double-count them
    where rfm_segment is not null and customer_state != 'never_purchased'
),

lifecycle_members as (
    select
        customer_key,
        {{ segment_name('lifecycle_stage') }} as segment,
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

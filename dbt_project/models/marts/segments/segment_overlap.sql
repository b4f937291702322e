{#- How many customers two segments share at `as_of`: one row per unordered pair with at
    least one shared customer (segment_a < segment_b), with each side's size and the Jaccard
    index so analysts can spot near-duplicate segments, and each side's segment type (rfm,
    lifecycle, rule). -#}

with

membership as (
    select * from {{ ref('segment_membership') }}
),

segment_sizes as (
    select
        segment,
        segment_type,
        count(*) as members
    from membership
    group by segment, segment_type
),

shared as (
    select
        membership_a.segment as segment_a,
        membership_b.segment as segment_b,
        count(*) as shared_customers
    from membership as membership_a
    inner join membership as membership_b
        on
            membership_a.customer_key = membership_b.customer_key
            and membership_a.segment < membership_b.segment
    group by membership_a.segment, membership_b.segment
),

final as (
    select
        {{ segments_as_of() }} as as_of,
        shared.segment_a,
        sizes_a.segment_type as segment_a_type,
        shared.segment_b,
        sizes_b.segment_type as segment_b_type,
        shared.shared_customers,
        sizes_a.members as segment_a_members,
        sizes_b.members as segment_b_members,
        round(
            1.0 * shared.shared_customers
            / (sizes_a.members + sizes_b.members - shared.shared_customers),
            4
        ) as jaccard
    from shared
    inner join segment_sizes as sizes_a on shared.segment_a = sizes_a.segment
    inner join segment_sizes as sizes_b on shared.segment_b = sizes_b.segment
)

select * from final

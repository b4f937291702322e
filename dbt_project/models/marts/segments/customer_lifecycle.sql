{#- One lifecycle stage per customer known at `as_of`: the mart email tools and analysts
    read. The stages and their order live in int_customer_lifecycle_assigned. -#}
with

lifecycle as (
    select * from {{ ref('int_customer_lifecycle_assigned') }}
),

final as (
    select
        customer_key,
        lifecycle_stage,
        as_of
    from lifecycle
)

select * from final

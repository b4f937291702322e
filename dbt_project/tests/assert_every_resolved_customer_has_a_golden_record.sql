-- Every customer_key the identity graph hands out has exactly one dim_customers row.
with

identity_graph as (
    select * from {{ source('identity', 'identity_graph') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

final as (
    select distinct identity_graph.customer_key
    from identity_graph
    left join customers
        on identity_graph.customer_key = customers.customer_key
    where customers.customer_key is null
)

select * from final

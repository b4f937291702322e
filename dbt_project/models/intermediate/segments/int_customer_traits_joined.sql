{#- Every profile trait a rule segment may test, one row per customer known at `as_of`.
    The trait names here are the catalogue in python_models/segments/catalog.py; add a column
    there and here together. The profile is int_customers_profiled and `cluster_id` the
    K-Means micro-segment (models.customer_clusters), the same values dim_customers carries;
    `churn_band` stays null until the churn model (next milestone) lands. -#}

with

customers as (
    select * from {{ ref('int_customers_profiled') }}
),

clusters as (
    select * from {{ source('models', 'customer_clusters') }}
),

customer_orders as (
    select * from {{ ref('int_customer_orders_summarised') }}
),

rfm_scored as (
    select * from {{ ref('int_customer_rfm_scored') }}
),

age_bands as (
    select * from {{ ref('segment_age_bands') }}
),

customer_ages as (
    select
        customer_key,
        extract(year from {{ segments_as_of() }}) - extract(year from birth_date)
        - case
            when
                extract(month from {{ segments_as_of() }}) * 100
                + extract(day from {{ segments_as_of() }})
                < extract(month from birth_date) * 100 + extract(day from birth_date)
                then 1
            else 0
        end as age
    from customers
),

final as (
    select
        customer_orders.customer_key,
        customers.country,
        cast(customer_ages.age as integer) as age,
        age_bands.age_band,
        customers.consent_email_marketing,
        customers.consent_personalization,
        customers.consent_analytics,
        rfm_scored.rfm_segment,
        rfm_scored.r_score,
        rfm_scored.f_score,
        rfm_scored.m_score,
        cast(null as {{ api.Column.translate_type('string') }}) as churn_band,
        clusters.cluster_id,
        customer_orders.lifetime_purchases as lifetime_orders,
        customer_orders.lifetime_net_spend as lifetime_spend,
        customer_orders.days_since_last_purchase as days_since_last_order,
        customer_orders.days_since_first_purchase as days_since_first_order,
        {{ dbt.datediff('customers.first_seen_at', segments_as_of(), 'day') }}
            as days_since_first_seen
    from customer_orders
    inner join customers
        on customer_orders.customer_key = customers.customer_key
    left join customer_ages
        on customer_orders.customer_key = customer_ages.customer_key
    left join age_bands
        on customer_ages.age between age_bands.min_age and age_bands.max_age
    left join rfm_scored
        on customer_orders.customer_key = rfm_scored.customer_key
    left join clusters
        on customer_orders.customer_key = clusters.customer_key
)

select * from final

{#-
    The golden record analysts and email tools read: the survived profile
    (int_customers_profiled) with the scores the later stages compute joined back on:
    the RFM segment (customer_rfm), the K-Means micro-segment (models.customer_clusters), churn
    risk (models.customer_churn_scores) and lifetime value (models.customer_clv).
-#}
with

profiles as (
    select * from {{ ref('int_customers_profiled') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

clusters as (
    select * from {{ source('models', 'customer_clusters') }}
),

churn_scores as (
    select * from {{ source('models', 'customer_churn_scores') }}
),

lifetime_values as (
    select * from {{ source('models', 'customer_clv') }}
),

final as (
    select
        profiles.customer_key,
        profiles.given_name,
        profiles.family_name,
        profiles.primary_email,
        profiles.all_emails,
        profiles.phone,
        profiles.street,
        profiles.city,
        profiles.postcode,
        profiles.country,
        profiles.birth_date,
        profiles.name_source_system,
        profiles.name_source_record_id,
        profiles.email_source_system,
        profiles.email_source_record_id,
        profiles.phone_source_system,
        profiles.phone_source_record_id,
        profiles.address_source_system,
        profiles.address_source_record_id,
        profiles.birth_date_source_system,
        profiles.birth_date_source_record_id,
        profiles.linked_record_count,
        profiles.crm_record_count,
        profiles.loyalty_record_count,
        profiles.shop_record_count,
        profiles.support_record_count,
        profiles.web_user_record_count,
        profiles.web_anonymous_record_count,
        profiles.first_seen_at,
        profiles.last_seen_at,
        profiles.online_order_count,
        profiles.store_order_count,
        profiles.return_count,
        profiles.online_revenue_reporting,
        profiles.store_revenue_reporting,
        profiles.total_revenue_reporting,
        profiles.first_order_at,
        profiles.last_order_at,
        profiles.consent_email_marketing,
        profiles.consent_personalization,
        profiles.consent_analytics,
        profiles.consent_updated_at,
        rfm.rfm_segment,
        rfm.rfm_score,
        clusters.cluster_id,
        clusters.cluster_label,
        churn_scores.churn_probability,
        coalesce(churn_scores.risk_band, 'not_scorable') as churn_risk_band,
        churn_scores.top_reason as churn_top_reason,
        lifetime_values.expected_purchases_12m as clv_expected_purchases_12m,
        lifetime_values.expected_value_12m as clv_expected_value_12m,
        lifetime_values.p_alive
    from profiles
    left join rfm
        on profiles.customer_key = rfm.customer_key
    left join clusters
        on profiles.customer_key = clusters.customer_key
    left join churn_scores
        on profiles.customer_key = churn_scores.customer_key
    left join lifetime_values
        on profiles.customer_key = lifetime_values.customer_key
)

select * from final

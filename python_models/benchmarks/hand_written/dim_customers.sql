-- dim_customers by hand, straight from int_customers_profiled's inputs: record counts with
-- FILTER aggregates, activity as the least/greatest of three per-customer aggregates, the
-- scores joined on at the end.
create or replace table {scratch}.dim_customers as
with

record_counts as (
    select
        customer_key,
        count(*) as linked_record_count,
        count(*) filter (source_system = 'crm') as crm_record_count,
        count(*) filter (source_system = 'loyalty') as loyalty_record_count,
        count(*) filter (source_system = 'shop') as shop_record_count,
        count(*) filter (source_system = 'support') as support_record_count,
        count(*) filter (source_system = 'web_user') as web_user_record_count,
        count(*) filter (source_system = 'web_anonymous') as web_anonymous_record_count
    from identity.identity_graph
    group by customer_key
),

record_activity as (
    select customer_key, min(observed_at) as first_at, max(observed_at) as last_at
    from intermediate.int_person_records_keyed
    group by customer_key
),

order_totals as (
    select
        customer_key,
        count(*) filter (channel = 'online' and status = 'completed') as online_order_count,
        count(*) filter (channel = 'store' and not is_return) as store_order_count,
        count(*) filter (is_return) as return_count,
        coalesce(sum(net_amount_reporting) filter (channel = 'online'), 0)
            as online_revenue_reporting,
        coalesce(sum(net_amount_reporting) filter (channel = 'store'), 0)
            as store_revenue_reporting,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from marts.fct_orders
    where customer_key is not null
    group by customer_key
),

event_activity as (
    select customer_key, min(occurred_at) as first_at, max(occurred_at) as last_at
    from marts.fct_events
    where customer_key is not null
    group by customer_key
)

select
    counts.customer_key,
    attributes.given_name,
    attributes.family_name,
    attributes.primary_email,
    attributes.all_emails,
    attributes.phone,
    attributes.street,
    attributes.city,
    attributes.postcode,
    attributes.country,
    attributes.birth_date,
    attributes.name_source_system,
    attributes.name_source_record_id,
    attributes.email_source_system,
    attributes.email_source_record_id,
    attributes.phone_source_system,
    attributes.phone_source_record_id,
    attributes.address_source_system,
    attributes.address_source_record_id,
    attributes.birth_date_source_system,
    attributes.birth_date_source_record_id,
    counts.linked_record_count,
    counts.crm_record_count,
    counts.loyalty_record_count,
    counts.shop_record_count,
    counts.support_record_count,
    counts.web_user_record_count,
    counts.web_anonymous_record_count,
    -- least/greatest skip nulls, as min/max over the union of the three sources would
    least(records.first_at, orders.first_order_at, events.first_at) as first_seen_at,
    greatest(records.last_at, orders.last_order_at, events.last_at) as last_seen_at,
    coalesce(orders.online_order_count, 0) as online_order_count,
    coalesce(orders.store_order_count, 0) as store_order_count,
    coalesce(orders.return_count, 0) as return_count,
    coalesce(orders.online_revenue_reporting, 0)::decimal(18, 2) as online_revenue_reporting,
    coalesce(orders.store_revenue_reporting, 0)::decimal(18, 2) as store_revenue_reporting,
    (
        coalesce(orders.online_revenue_reporting, 0) + coalesce(orders.store_revenue_reporting, 0)
    )::decimal(18, 2) as total_revenue_reporting,
    orders.first_order_at,
    orders.last_order_at,
    coalesce(consent.consent_email_marketing, false) as consent_email_marketing,
    coalesce(consent.consent_personalization, false) as consent_personalization,
    coalesce(consent.consent_analytics, false) as consent_analytics,
    consent.consent_updated_at,
    rfm.rfm_segment,
    rfm.rfm_score,
    clusters.cluster_id,
    clusters.cluster_label,
    churn.churn_probability,
    coalesce(churn.risk_band, 'not_scorable') as churn_risk_band,
    churn.top_reason as churn_top_reason,
    clv.expected_purchases_12m as clv_expected_purchases_12m,
    clv.expected_value_12m as clv_expected_value_12m,
    clv.p_alive
from record_counts as counts
left join intermediate.int_customer_attributes_survived as attributes
    on counts.customer_key = attributes.customer_key
left join record_activity as records
    on counts.customer_key = records.customer_key
left join order_totals as orders
    on counts.customer_key = orders.customer_key
left join event_activity as events
    on counts.customer_key = events.customer_key
left join intermediate.int_customer_consent_current as consent
    on counts.customer_key = consent.customer_key
left join marts.customer_rfm as rfm
    on counts.customer_key = rfm.customer_key
left join models.customer_clusters as clusters
    on counts.customer_key = clusters.customer_key
left join models.customer_churn_scores as churn
    on counts.customer_key = churn.customer_key
left join models.customer_clv as clv
    on counts.customer_key = clv.customer_key;

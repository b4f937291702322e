{#-
    The golden record before scores: one row per customer_key of the identity graph, with the surviving
    attributes (rules in int_customer_attributes_survived and the
    survivorship_source_priority seed), linked-record counts, activity, orders and current
    consent.
-#}
with

identity_graph as (
    select * from {{ source('identity', 'identity_graph') }}
),

keyed_records as (
    select * from {{ ref('int_person_records_keyed') }}
),

attributes as (
    select * from {{ ref('int_customer_attributes_survived') }}
),

consent as (
    select * from {{ ref('int_customer_consent_current') }}
),

orders as (
    select * from {{ ref('int_orders_keyed') }}
),

events as (
    select * from {{ ref('int_events_keyed') }}
),


record_counts as (
    select
        customer_key,
        cast(count(*) as {{ dbt.type_bigint() }}) as linked_record_count,
        cast(
            sum(case when source_system = 'crm' then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as crm_record_count,
        cast(
            sum(case when source_system = 'loyalty' then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as loyalty_record_count,
        cast(
            sum(case when source_system = 'shop' then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as shop_record_count,
        cast(
            sum(case when source_system = 'support' then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as support_record_count,
        cast(
            sum(case when source_system = 'web_user' then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as web_user_record_count,
        cast(
            sum(case when source_system = 'web_anonymous' then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as web_anonymous_record_count
    from identity_graph
    group by customer_key
),

order_totals as (
    select
        customer_key,
        cast(
            sum(case when channel = 'online' and status = 'completed' then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as online_order_count,
        cast(
            sum(case when channel = 'store' and not is_return then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as store_order_count,
        cast(
            sum(case when is_return then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as return_count,
        sum(
            case when channel = 'online' then net_amount_reporting else 0 end
        ) as online_revenue_reporting,
        sum(
            case when channel = 'store' then net_amount_reporting else 0 end
        ) as store_revenue_reporting,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    where customer_key is not null
    group by customer_key
),

event_activity as (
    select
        customer_key,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    where customer_key is not null
    group by customer_key
),

record_activity as (
    select
        customer_key,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at
    from keyed_records
    group by customer_key
),

seen_times as (
    select
        customer_key,
        first_observed_at as first_seen,
        last_observed_at as last_seen
    from record_activity
    union all
    select
        customer_key,
        first_order_at,
        last_order_at
    from order_totals
    union all
    select
        customer_key,
        first_event_at,
        last_event_at
    from event_activity
),

activity as (
    select
        customer_key,
        min(first_seen) as first_seen_at,
        max(last_seen) as last_seen_at
    from seen_times
    group by customer_key
),

final as (
    select
        record_counts.customer_key,
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
        record_counts.linked_record_count,
        record_counts.crm_record_count,
        record_counts.loyalty_record_count,
        record_counts.shop_record_count,
        record_counts.support_record_count,
        record_counts.web_user_record_count,
        record_counts.web_anonymous_record_count,
        activity.first_seen_at,
        activity.last_seen_at,
        coalesce(order_totals.online_order_count, 0) as online_order_count,
        coalesce(order_totals.store_order_count, 0) as store_order_count,
        coalesce(order_totals.return_count, 0) as return_count,
        cast(
            coalesce(order_totals.online_revenue_reporting, 0) as decimal(18, 2)
        ) as online_revenue_reporting,
        cast(
            coalesce(order_totals.store_revenue_reporting, 0) as decimal(18, 2)
        ) as store_revenue_reporting,
        cast(
            coalesce(order_totals.online_revenue_reporting, 0)
            + coalesce(order_totals.store_revenue_reporting, 0) as decimal(18, 2)
        ) as total_revenue_reporting,
        order_totals.first_order_at,
        order_totals.last_order_at,
        coalesce(consent.consent_email_marketing, false) as consent_email_marketing,
        coalesce(consent.consent_personalization, false) as consent_personalization,
        coalesce(consent.consent_analytics, false) as consent_analytics,
        consent.consent_updated_at
    from record_counts
    left join attributes
        on record_counts.customer_key = attributes.customer_key
    left join activity
        on record_counts.customer_key = activity.customer_key
    left join order_totals
        on record_counts.customer_key = order_totals.customer_key
    left join consent
        on record_counts.customer_key = consent.customer_key
)

select * from final

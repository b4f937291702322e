{#-
    One row per person-bearing source record: the input of identity resolution.
    `source_system` ∈ crm, loyalty, shop, support, web_user, web_anonymous; the record id is
    the source's natural key (a shop record is one order, with the customer details typed at
    checkout). `web_user` is a shop account: its id, and the name and email the shop
    database keeps for it (`stg_shop__customers`, extracted live; without the live source
    the account carries no personal data), one record per account seen in web events or in
    the shop's accounts. `web_anonymous` is a browser id with `linked_user_ids`, the
    accounts it was seen logged in as (any event carrying both ids, i.e. the login event
    and the rest of that session).
    A shop record carries `linked_anonymous_ids`, the browsers whose purchase event names
    that order (a guest checkout too): how a guest's browser is identified.
    `observed_at` is when the record was last true: updated_at / enrolment / order / ticket
    time, or the last web event.
-#}
with

crm_contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

loyalty_members as (
    select * from {{ ref('stg_pos__loyalty_members') }}
),

shop_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

support_tickets as (
    select * from {{ ref('stg_support__tickets') }}
),

web_events as (
    select * from {{ ref('stg_web__events') }}
),

order_browsers as (
    select
        order_id,
        {{ sorted_distinct_list('anonymous_id') }} as linked_anonymous_ids
    from web_events
    where event_name = 'purchase' and order_id is not null and anonymous_id is not null
    group by order_id
),

crm_records as (
    select
        'crm' as source_system,
        crm_id as source_record_id,
        given_name,
        family_name,
        email,
        phone,
        street,
        city,
        postcode,
        country,
        birth_date,
        crm_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        coalesce(updated_at, created_at) as observed_at,
        {{ null_string_list() }} as linked_user_ids,
        {{ null_string_list() }} as linked_anonymous_ids
    from crm_contacts
),

loyalty_records as (
    select
        'loyalty' as source_system,
        loyalty_id as source_record_id,
        given_name,
        family_name,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as city,
        postcode,
        cast(null as {{ dbt.type_string() }}) as country,
        birth_date,
        cast(null as {{ dbt.type_string() }}) as crm_id,
        loyalty_id,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        enrolled_at as observed_at,
        {{ null_string_list() }} as linked_user_ids,
        {{ null_string_list() }} as linked_anonymous_ids
    from loyalty_members
),

shop_records as (
    select
        'shop' as source_system,
        shop_orders.order_id as source_record_id,
        shop_orders.given_name,
        shop_orders.family_name,
        shop_orders.email,
        shop_orders.phone,
        shop_orders.ship_street as street,
        shop_orders.ship_city as city,
        shop_orders.ship_postcode as postcode,
        shop_orders.ship_country as country,
        cast(null as date) as birth_date,
        shop_orders.crm_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        shop_orders.user_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        shop_orders.ordered_at as observed_at,
        {{ null_string_list() }} as linked_user_ids,
        order_browsers.linked_anonymous_ids
    from shop_orders
    left join order_browsers
        on shop_orders.order_id = order_browsers.order_id
),

support_records as (
    select
        'support' as source_system,
        ticket_id as source_record_id,
        cast(null as {{ dbt.type_string() }}) as given_name,
        cast(null as {{ dbt.type_string() }}) as family_name,
        email,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as postcode,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as crm_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        coalesce(closed_at, opened_at) as observed_at,
        {{ null_string_list() }} as linked_user_ids,
        {{ null_string_list() }} as linked_anonymous_ids
    from support_tickets
),

web_users as (
    select
        user_id,
        max(occurred_at) as last_seen_at
    from web_events
    where user_id is not null
    group by user_id
),

-- one record per account: seen in web events, kept by the shop database, or both
web_accounts as (
    select
        coalesce(web_users.user_id, shop_customers.user_id) as user_id,
        shop_customers.given_name,
        shop_customers.family_name,
        shop_customers.email,
        case
            when shop_customers.updated_at is null then web_users.last_seen_at
            when web_users.last_seen_at is null then shop_customers.updated_at
            when web_users.last_seen_at > shop_customers.updated_at
                then web_users.last_seen_at
            else shop_customers.updated_at
        end as observed_at
    from web_users
    full outer join shop_customers
        on web_users.user_id = shop_customers.user_id
),

web_user_records as (
    select
        'web_user' as source_system,
        user_id as source_record_id,
        given_name,
        family_name,
        email,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as postcode,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as crm_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        user_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        observed_at,
        {{ null_string_list() }} as linked_user_ids,
        {{ null_string_list() }} as linked_anonymous_ids
    from web_accounts
),

anonymous_browsers as (
    select
        anonymous_id,
        max(occurred_at) as last_seen_at,
        {{ sorted_distinct_list('user_id') }} as linked_user_ids
    from web_events
    where anonymous_id is not null
    group by anonymous_id
),

web_anonymous_records as (
    select
        'web_anonymous' as source_system,
        anonymous_id as source_record_id,
        cast(null as {{ dbt.type_string() }}) as given_name,
        cast(null as {{ dbt.type_string() }}) as family_name,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as postcode,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as crm_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        cast(null as {{ dbt.type_string() }}) as user_id,
        anonymous_id,
        last_seen_at as observed_at,
        linked_user_ids,
        {{ null_string_list() }} as linked_anonymous_ids
    from anonymous_browsers
),

final as (
    select * from crm_records
    union all
    select * from loyalty_records
    union all
    select * from shop_records
    union all
    select * from support_records
    union all
    select * from web_user_records
    union all
    select * from web_anonymous_records
)

select * from final

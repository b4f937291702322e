{#- Every person-bearing record with the customer it was resolved to. Records the graph
    does not know yet (loaded after the last identity run) wait for the next run. -#}
with

person_records as (
    select * from {{ ref('int_person_records_unioned') }}
),

identity_graph as (
    select * from {{ source('identity', 'identity_graph') }}
),

final as (
    select
        identity_graph.customer_key,
        person_records.source_system,
        person_records.source_record_id,
        person_records.given_name,
        person_records.family_name,
        person_records.email,
        person_records.phone,
        person_records.street,
        person_records.city,
        person_records.postcode,
        person_records.country,
        person_records.birth_date,
        person_records.observed_at
    from person_records
    inner join identity_graph
        on
            person_records.source_system = identity_graph.source_system
            and person_records.source_record_id = identity_graph.source_record_id
)

select * from final

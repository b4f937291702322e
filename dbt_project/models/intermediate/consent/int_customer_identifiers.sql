{#- Every identifier consent can be recorded against, per customer: the normalised emails
    of the customer's linked records, and their phones' last nine digits (a consent record
    does not say which country a nationally written number is in). -#}
with

keyed_records as (
    select * from {{ ref('int_person_records_keyed') }}
),

emails as (
    select distinct
        customer_key,
        'email' as identifier_type,
        email as identifier_match_key
    from keyed_records
    where email is not null
),

phones as (
    select distinct
        customer_key,
        'phone' as identifier_type,
        {{ phone_match_key('phone') }} as identifier_match_key
    from keyed_records
    where phone is not null
),

final as (
    select * from emails
    union
    select * from phones
)

select * from final

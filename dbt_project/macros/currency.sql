{#-
    `amount` converted to the reporting currency (dbt var `reporting_currency`) with the
    `currency_rates` seed: the rate for the month of `at` when the seed has one, else the
    currency's default rate. Null when the currency has no rate (a test flags those rows).
    Scalar subqueries, so it needs no join and ports to any adapter.
-#}
{% macro to_reporting_currency(amount, currency, at) -%}
    {#- The seed's columns are renamed inside the subqueries so an unqualified `currency`
        argument still means the outer row's column. -#}
    {%- set rates -%}
        (
            select
                currency as rate_currency,
                reporting_currency as rate_reporting_currency,
                rate_month as rate_month_start,
                rate as rate_value
            from {{ ref('currency_rates') }}
            where reporting_currency = '{{ var("reporting_currency", "GBP") }}'
        )
    {%- endset -%}
    cast({{ amount }} * coalesce(
        (
            select monthly.rate_value
            from {{ rates }} as monthly
            where
                monthly.rate_currency = {{ currency }}
                and monthly.rate_month_start = cast({{ dbt.date_trunc('month', at) }} as date)
        ),
        (
            select fallback.rate_value
            from {{ rates }} as fallback
            where
                fallback.rate_currency = {{ currency }}
                and fallback.rate_month_start is null
        )
    ) as decimal(18, 2))
{%- endmacro %}

{#- A delimited string as a list of its trimmed, non-empty parts. -#}
{% macro split_to_list(expression, delimiter) -%}
    {{ return(adapter.dispatch('split_to_list', 'customer360')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__split_to_list(expression, delimiter) -%}
    string_to_array({{ expression }}, '{{ delimiter }}')
{%- endmacro %}

{% macro duckdb__split_to_list(expression, delimiter) -%}
    list_filter(
        list_transform(string_split({{ expression }}, '{{ delimiter }}'), lambda part: trim(part)),
        lambda part: part <> ''
    )
{%- endmacro %}

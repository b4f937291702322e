{#- dbt-duckdb has no `safe_cast`, so `dbt.safe_cast` falls back to a plain cast, which
    fails the whole model on one bad value. DuckDB's try_cast gives null instead, as
    Snowflake's and BigQuery's implementations do. dbt looks in the root project first. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

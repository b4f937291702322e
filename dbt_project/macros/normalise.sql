{#-
    Small normalisation helpers used by staging (email and phone have their own file,
    contact_points.sql). Each dialect-specific function sits behind
    an adapter.dispatch macro with a `default__` (ANSI-ish) and a `duckdb__` version, so a
    Spark or Snowflake port only adds its own `<adapter>__` implementation.
-#}

{#- Empty or blank strings become null; everything else is trimmed. -#}
{% macro clean_string(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}

{#- Person names: Unicode NFC (so `é` typed two ways compares equal), trimmed, case kept. -#}
{% macro normalize_name(expression) -%}
    {{ clean_string(unicode_nfc(expression)) }}
{%- endmacro %}

{% macro unicode_nfc(expression) -%}
    {{ return(adapter.dispatch('unicode_nfc', 'customer360')(expression)) }}
{%- endmacro %}

{% macro default__unicode_nfc(expression) -%}
    normalize({{ expression }}, nfc)
{%- endmacro %}

{% macro duckdb__unicode_nfc(expression) -%}
    nfc_normalize({{ expression }})
{%- endmacro %}

{#- Remove every match of a regular expression. -#}
{% macro regexp_remove_all(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_remove_all', 'customer360')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_remove_all(expression, pattern) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '')
{%- endmacro %}

{% macro duckdb__regexp_remove_all(expression, pattern) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '', 'g')
{%- endmacro %}

{#- True when the whole string matches the regular expression (a literal pattern). -#}
{% macro regexp_full_match(expression, pattern) -%}
    {{ regexp_full_match_column(expression, "'" ~ pattern ~ "'") }}
{%- endmacro %}

{#- The same, with the pattern taken from an expression (e.g. a seed column). -#}
{% macro regexp_full_match_column(expression, pattern_expression) -%}
    {{ return(adapter.dispatch('regexp_full_match_column', 'customer360')(expression, pattern_expression)) }}
{%- endmacro %}

{% macro default__regexp_full_match_column(expression, pattern_expression) -%}
    ({{ expression }} similar to {{ pattern_expression }})
{%- endmacro %}

{% macro duckdb__regexp_full_match_column(expression, pattern_expression) -%}
    regexp_full_match({{ expression }}, {{ pattern_expression }})
{%- endmacro %}

{#- One string property of a JSON object held as text; null when absent or not JSON. -#}
{% macro json_get_string(json_column, key) -%}
    {{ return(adapter.dispatch('json_get_string', 'customer360')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_get_string(json_column, key) -%}
    json_extract_path_text({{ json_column }}, '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_get_string(json_column, key) -%}
    json_extract_string(try_cast({{ json_column }} as json), '$.{{ key }}')
{%- endmacro %}

{#-
    An ISO-8601 string as a UTC `timestamp` (no time zone). Strings with `Z` or an offset
    (`+02:00`, `-0500`) are shifted to UTC; strings without one are taken to be UTC already,
    whatever the session's time zone. Unparseable values become null.
-#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'customer360')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast(cast({{ expression }} as timestamp with time zone) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expression) -%}
    case
        when regexp_matches(trim({{ expression }}), '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$')
            then timezone('UTC', try_cast(trim({{ expression }}) as timestamptz))
        else try_cast(trim({{ expression }}) as timestamp)
    end
{%- endmacro %}

{#- A list (array) aggregate of distinct non-null values, sorted. -#}
{% macro sorted_distinct_list(expression) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'customer360')(expression)) }}
{%- endmacro %}

{% macro default__sorted_distinct_list(expression) -%}
    array_agg(distinct {{ expression }} order by {{ expression }})
{%- endmacro %}

{% macro duckdb__sorted_distinct_list(expression) -%}
    list_sort(list_distinct(list({{ expression }})))
{%- endmacro %}

{#- A typed null list of strings, so a union's branches agree on the column's type. -#}
{% macro null_string_list() -%}
    {{ return(adapter.dispatch('null_string_list', 'customer360')()) }}
{%- endmacro %}

{% macro default__null_string_list() -%}
    cast(null as {{ dbt.type_string() }} array)
{%- endmacro %}

{% macro duckdb__null_string_list() -%}
    cast(null as varchar[])
{%- endmacro %}

{#- The dbt var `as_of` ("now" for the run) as a UTC timestamp; `Z` or an offset is honoured. -#}
{% macro as_of_timestamp() -%}
    {{ to_utc_timestamp("'" ~ var("as_of") ~ "'") }}
{%- endmacro %}

{#- True when a live source marked the record deleted: a soft delete (`deleted_at` in the
    source) or a hard delete seen by key reconciliation; both set `_extra.deleted_at`
    (see python_models/extract/live/postgres.py). File loads never set it. -#}
{% macro deleted_in_source(extra_column) -%}
    {{ return(adapter.dispatch('deleted_in_source', 'customer360')(extra_column)) }}
{%- endmacro %}

{% macro default__deleted_in_source(extra_column) -%}
    coalesce(json_extract_string({{ extra_column }}, '$.deleted_at') is not null, false)
{%- endmacro %}

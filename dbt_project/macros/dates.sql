{#-
    Dates as people write them: ISO `yyyy-mm-dd` (a time after it is ignored), `yyyy/mm/dd`,
    compact `yyyymmdd`, and `d/m/yyyy` or `m/d/yyyy` with '/', '.' or '-'. An ambiguous
    `a/b/yyyy` (both parts at most 12) is read month first when `month_first` (a SQL boolean)
    is true, else day first; a part above 12 decides by itself. NULL when nothing fits: the
    raw contract's `<column>_date` rule counts those rows, and raw keeps the text.
    The same expression as python_models.quality.sql.parse_date_sql (tests/unit/test_birth_dates.py).
-#}
{% macro parse_date(expression, month_first='false') -%}
    {{ return(adapter.dispatch('parse_date', 'customer360')(expression, month_first)) }}
{%- endmacro %}

{#- Countries writing dates month first, as a SQL boolean on a country-code expression. -#}
{% macro is_month_first_country(country_expression) -%}
    coalesce(upper(trim({{ country_expression }})) in (
        {%- for country in var('month_first_countries') %}'{{ country }}'{{ ", " if not loop.last }}{% endfor -%}
    ), false)
{%- endmacro %}

{% macro duckdb__parse_date(expression, month_first='false') -%}
    {%- set v = 'trim(' ~ expression ~ ')' -%}
    {%- set ymd = "regexp_extract(" ~ v ~ ", '^(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})([ T].*)?$', ['y', 'm', 'd'])" -%}
    {%- set compact = "regexp_extract(" ~ v ~ ", '^(\\d{4})(\\d{2})(\\d{2})$', ['y', 'm', 'd'])" -%}
    {%- set dmy = "regexp_extract(" ~ v ~ ", '^(\\d{1,2})[-/.](\\d{1,2})[-/.](\\d{4})$', ['a', 'b', 'y'])" -%}
    {%- set first_is_month = "(cast(nullif(" ~ dmy ~ ".b, '') as integer) > 12 or (cast(nullif(" ~ dmy ~ ".a, '') as integer) <= 12 and " ~ month_first ~ "))" -%}
    coalesce(try(make_date(cast(nullif({{ ymd }}.y, '') as integer), cast(nullif({{ ymd }}.m, '') as integer), cast(nullif({{ ymd }}.d, '') as integer))), try(make_date(cast(nullif({{ compact }}.y, '') as integer), cast(nullif({{ compact }}.m, '') as integer), cast(nullif({{ compact }}.d, '') as integer))), try(make_date(cast(nullif({{ dmy }}.y, '') as integer), case when {{ first_is_month }} then cast(nullif({{ dmy }}.a, '') as integer) else cast(nullif({{ dmy }}.b, '') as integer) end, case when {{ first_is_month }} then cast(nullif({{ dmy }}.b, '') as integer) else cast(nullif({{ dmy }}.a, '') as integer) end)))
{%- endmacro %}

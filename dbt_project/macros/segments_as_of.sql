{#- "Now" for every segment model: the dbt var `as_of` (ISO 8601) as a UTC timestamp literal.
    `Z` and offsets such as +01:00 are converted to UTC, because the warehouse stores UTC
    timestamps without a zone; a value that is not ISO 8601 stops the run with its value. -#}
{% macro segments_as_of_utc_text() -%}
    {%- set raw = var('as_of') | string | trim -%}
    {%- set iso_pattern = '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:\d{2})?$' -%}
    {%- if not modules.re.match(iso_pattern, raw) -%}
        {{ exceptions.raise_compiler_error(
            "dbt var as_of must be an ISO 8601 timestamp such as 2026-11-01T00:00:00Z, got '"
            ~ raw ~ "'") }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.fromisoformat(raw.replace('Z', '+00:00').replace('z', '+00:00')) -%}
    {%- if parsed.tzinfo is not none -%}
        {%- set parsed = parsed.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
    {%- endif -%}
    {{- parsed.strftime('%Y-%m-%d %H:%M:%S') -}}
{%- endmacro %}

{% macro segments_as_of() -%}
    cast('{{ segments_as_of_utc_text() }}' as timestamp)
{%- endmacro %}

{#- The start of a trailing window ending at `as_of`: rows in the window satisfy
    `window_start < ts <= as_of`. `unit` is one of hour, day. -#}
{% macro segments_window_start(amount, unit) -%}
    {{ dbt.dateadd(unit, -1 * amount, segments_as_of()) }}
{%- endmacro %}

{#- "Now" for every segment model: the dbt var `as_of` as a timestamp literal.
    A trailing `Z` (UTC) is accepted; the warehouse stores UTC timestamps without a zone. -#}
{% macro segments_as_of() -%}
    cast('{{ var("as_of") | string | replace("Z", "") | replace("z", "") }}' as timestamp)
{%- endmacro %}

{#- The start of a trailing window ending at `as_of`: rows in the window satisfy
    `window_start < ts <= as_of`. `unit` is one of hour, day. -#}
{% macro segments_window_start(amount, unit) -%}
    {{ dbt.dateadd(unit, -1 * amount, segments_as_of()) }}
{%- endmacro %}

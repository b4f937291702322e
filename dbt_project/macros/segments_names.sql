{#- A display name as a segment name: "Can't Lose Them" -> cant_lose_them. Every segment in
    segment_membership is named this way (rule segments are written so in segments.yml), so
    one column never mixes "At Risk" and at_risk styles. -#}
{% macro segment_name(expression) -%}
    lower(replace(replace(trim({{ expression }}), '''', ''), ' ', '_'))
{%- endmacro %}

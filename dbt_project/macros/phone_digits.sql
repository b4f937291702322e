{#- The digits of a phone number as written, without a bracketed `(0)` trunk. -#}
{% macro phone_digits(phone) -%}
    {{ regexp_remove_all("replace(" ~ clean_string(phone) ~ ", '(0)', '')", '[^0-9]') }}
{%- endmacro %}

{#- True when a phone is written in international form (`+…` or `00…`). -#}
{% macro phone_is_international(phone) -%}
    ({{ clean_string(phone) }} like '+%' or {{ phone_digits(phone) }} like '00%')
{%- endmacro %}

{#-
    A country-independent key to match phone numbers whose country is unknown: the last
    nine digits, which cover the national significant number of most countries' numbers
    without its trunk prefix or country code. Null for fewer than nine digits.
-#}
{% macro phone_match_key(phone) -%}
    case
        when length({{ phone_digits(phone) }}) >= 9
            then right({{ phone_digits(phone) }}, 9)
    end
{%- endmacro %}

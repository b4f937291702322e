{#-
    Email and phone normalisation for SQL: the one definition of each, used by every staging
    model (the Python side is python_models.identity's). Email: `normalize_email`. Phone:
    `normalize_phone`, built from `phone_digits` and `phone_is_international`, which the
    loyalty model also uses to infer a member's country from how the number is written, and
    `phone_match_key` for numbers whose country is unknown.
-#}

{#- Emails: trimmed, lower-cased, null when blank. -#}
{% macro normalize_email(expression) -%}
    lower({{ clean_string(expression) }})
{%- endmacro %}

{#- A phone as written, trimmed, without a bracketed `(0)` trunk; null when blank. -#}
{% macro phone_as_written(phone) -%}
    replace({{ clean_string(phone) }}, '(0)', '')
{%- endmacro %}

{#- The digits of a phone number as written, without a bracketed `(0)` trunk. -#}
{% macro phone_digits(phone) -%}
    {{ regexp_remove_all(phone_as_written(phone), '[^0-9]') }}
{%- endmacro %}

{#- True when a phone is written in international form (`+…` or `00…`). -#}
{% macro phone_is_international(phone) -%}
    ({{ clean_string(phone) }} like '+%' or {{ phone_digits(phone) }} like '00%')
{%- endmacro %}

{#-
    A phone number as E.164 (`+<country code><national number>`), or null when it cannot be
    one. `calling_code` and `trunk_prefix` are expressions holding the `country_calling_codes`
    seed's values for the record's country (or the project's default country).

    Handles `+44 20 7946 0958`, `0044 20 7946 0958`, `+44 (0)20 7946 0958`, national
    `020 7946 0958` / `(020) 7946-0958` with the record's country, and national numbers
    written without a trunk prefix (`(555) 123-4567` in the US). The result must be `+`, a
    non-zero digit, then 7 to 14 more digits (E.164 allows 15 digits in all); anything else
    is null, because a wrong phone number is worse than none for matching and messaging.
-#}
{% macro normalize_phone(phone, calling_code, trunk_prefix) -%}
    {%- set written = phone_as_written(phone) -%}
    {%- set digits = phone_digits(phone) -%}
    {%- set candidate -%}
    (case
        when {{ digits }} = '' then null
        when {{ written }} like '+%' then '+' || {{ digits }}
        when {{ digits }} like '00%' then '+' || substr({{ digits }}, 3)
        when {{ calling_code }} is null then null
        when
            {{ trunk_prefix }} is not null
            and {{ digits }} like {{ trunk_prefix }} || '%'
            then '+' || {{ calling_code }} || substr({{ digits }}, length({{ trunk_prefix }}) + 1)
        else '+' || {{ calling_code }} || {{ digits }}
    end)
    {%- endset -%}
    case
        when {{ regexp_full_match(candidate, '[+][1-9][0-9]{7,14}') }}
            then {{ candidate }}
    end
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

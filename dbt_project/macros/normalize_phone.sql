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
    {%- set candidate = phone_e164_candidate(phone, calling_code, trunk_prefix) -%}
    case
        when {{ regexp_full_match(candidate, '[+][1-9][0-9]{7,14}') }}
            then {{ candidate }}
    end
{%- endmacro %}

{% macro phone_e164_candidate(phone, calling_code, trunk_prefix) -%}
    {%- set written = "replace(" ~ clean_string(phone) ~ ", '(0)', '')" -%}
    {%- set digits = regexp_remove_all(written, '[^0-9]') -%}
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
{%- endmacro %}

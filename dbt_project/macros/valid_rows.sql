{#-
    The raw rows of `source_name.table` that are not held back in quarantine.

    A row is held back while `quarantine.<table>` has it (same `_load_id`, `_row_number`)
    and `released_at` is null; releasing a row (setting `released_at`) lets it flow on
    without reloading the file. A `not exists` subquery so any adapter runs it.
    Use it as an import CTE: `with source as ({{ valid_rows('raw', 'crm_contacts') }})`.
-#}
{% macro valid_rows(source_name, table) -%}
    select raw_rows.*
    from {{ source(source_name, table) }} as raw_rows
    where not exists (
        select 1
        from {{ source('quarantine', table) }} as held
        where
            held._load_id = raw_rows._load_id
            and held._row_number = raw_rows._row_number
            and held.released_at is null
    )
{%- endmacro %}

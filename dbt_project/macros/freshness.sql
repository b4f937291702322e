{#-
    Source freshness, as the raw contract defines it (python_models.contract.spec.Freshness):
    the age of the newest event at the run's as_of, never at the wall clock. The generated
    source yml sets each raw table's `loaded_at_query` to `newest_event_at(<event column>)`;
    the scorecard (python_models.quality.scorecard.source_freshness) computes the same figure.

    `newest_event_at`: the newest parsed event time in the source, ignoring events more than
    `future_tolerance_hours` after as_of (the future-date rule quarantines those).
-#}
{% macro newest_event_at(event_time_column, future_tolerance_hours=24) -%}
    select max(event_at)
    from (select {{ to_utc_timestamp(event_time_column) }} as event_at from {{ this }}) as events
    where event_at <= {{ dbt.dateadd('hour', future_tolerance_hours, as_of_timestamp()) }}
{%- endmacro %}

{#-
    dbt's own macro with one change: the age of `loaded_at_query`'s timestamp is measured at
    the dbt var `as_of` ("now" for the run) instead of the database's current_timestamp, so
    the same data and as_of get the same verdict whenever dbt runs. Only sources with a
    `loaded_at_query` (every raw table with an event time) go through it.
-#}
{% macro duckdb__collect_freshness_custom_sql(source, loaded_at_query) %}
  {% call statement('collect_freshness_custom_sql', fetch_result=True, auto_begin=False) -%}
  with source_query as (
    {{ loaded_at_query }}
  )
  select
    (select * from source_query) as max_loaded_at,
    {{ as_of_timestamp() }} as snapshotted_at
  {% endcall %}
  {{ return(load_result('collect_freshness_custom_sql')) }}
{% endmacro %}

{#- Fails on every row where `expression` is not true (a small stand-in for dbt_utils').
    On a column, the expression may use the column by name; filter rows with `config.where`. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}

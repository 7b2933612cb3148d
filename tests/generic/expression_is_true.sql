{#- Fails with the rows for which the boolean SQL expression is false (NULL counts as unknown, not false). -#}
{% test expression_is_true(model, expression, column_name=none) %}

    select *
    from {{ model }}
    where not ({{ expression }})

{% endtest %}

{#- Aggregate (use it with GROUP BY): the Brier score avg((p - y)^2) of predicted probabilities against
    0/1 outcomes; rows with a NULL probability or outcome are left out. -#}
{% macro brier_score(probability, outcome) -%}
    avg(power(cast({{ probability }} as {{ type_double() }}) - {{ outcome }}, 2))
{%- endmacro %}

{#- Aggregate: the group's `value` on the row with the greatest `order_by` (NULL values included). -#}
{% macro value_at_latest(value, order_by) -%}
    {{ return(adapter.dispatch('value_at_latest', 'riskmart')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_latest(value, order_by) -%}
    arg_max({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro bigquery__value_at_latest(value, order_by) -%}
    array_agg(struct({{ value }} as value) order by {{ order_by }} desc limit 1)[offset(0)].value
{%- endmacro %}

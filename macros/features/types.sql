{#- A double-precision float type on every engine (type_double() is 4-byte FLOAT on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'riskmart')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro bigquery__type_double() -%}
    float64
{%- endmacro %}

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

{#- Aggregate: an order-independent 64-bit fingerprint of a group's rows, the bitwise xor of a hash of each
    row's `columns` (a list of column expressions). Over rows unique by their key columns it changes whenever
    a row is added, dropped or has one of the values changed. -#}
{% macro rows_fingerprint(columns) -%}
    {{ return(adapter.dispatch('rows_fingerprint', 'riskmart')(columns)) }}
{%- endmacro %}

{% macro default__rows_fingerprint(columns) -%}
    bit_xor(hash({{ columns | join(', ') }}))
{%- endmacro %}

{% macro bigquery__rows_fingerprint(columns) -%}
    bit_xor(farm_fingerprint(to_json_string(struct({{ columns | join(', ') }}))))
{%- endmacro %}

{#- Aggregate: an order-independent 64-bit fingerprint of the keys (client_id, feature_date) of a group. -#}
{% macro key_fingerprint(client_id, feature_date) -%}
    {{ return(rows_fingerprint([client_id, feature_date])) }}
{%- endmacro %}

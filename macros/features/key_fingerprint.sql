{#- Aggregate: an order-independent 64-bit fingerprint of the keys (client_id, feature_date) of a group. -#}
{% macro key_fingerprint(client_id, feature_date) -%}
    {{ return(adapter.dispatch('key_fingerprint', 'riskmart')(client_id, feature_date)) }}
{%- endmacro %}

{% macro default__key_fingerprint(client_id, feature_date) -%}
    bit_xor(hash({{ client_id }}, {{ feature_date }}))
{%- endmacro %}

{% macro bigquery__key_fingerprint(client_id, feature_date) -%}
    bit_xor(farm_fingerprint(concat({{ client_id }}, '|', cast({{ feature_date }} as string))))
{%- endmacro %}

{#- The salt of development and tests: public (it is in this file), so anyone could recompute its hashes. -#}
{% macro development_pii_salt() -%}
    {{ return('riskmart-dev-salt') }}
{%- endmacro %}

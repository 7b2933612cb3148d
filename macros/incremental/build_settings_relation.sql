{#- The relation that keeps one fingerprint per model (schema `riskmart_meta`, out of BI's way). -#}
{% macro build_settings_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='riskmart_meta', identifier='build_settings')) }}
{%- endmacro %}

{#- The log of staged event changes by client (`log_staged_changes`), read by the feature models as
    the staging view `stg_riskmart_meta__staged_changes`. -#}
{% macro staged_changes_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='riskmart_meta', identifier='staged_changes')) }}
{%- endmacro %}

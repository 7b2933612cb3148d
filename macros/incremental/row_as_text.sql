{#- A table row as text, for fingerprints. -#}
{% macro row_as_text(alias) -%}
    {{ return(adapter.dispatch('row_as_text', 'riskmart')(alias)) }}
{%- endmacro %}

{% macro default__row_as_text(alias) -%}
    cast({{ alias }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro bigquery__row_as_text(alias) -%}
    to_json_string({{ alias }})
{%- endmacro %}

{#- `text` (several lines of SQL, say) as a string literal of the engine, quotes escaped. -#}
{% macro sql_text_literal(text) -%}
    {{ return(adapter.dispatch('sql_text_literal', 'riskmart')(text)) }}
{%- endmacro %}

{#- DuckDB, Postgres: a quoted literal may span lines; a quote is doubled. -#}
{% macro default__sql_text_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{#- BigQuery: only a triple-quoted literal spans lines; backslashes and quotes are escaped. -#}
{% macro bigquery__sql_text_literal(text) -%}
    '''{{ text | replace('\\', '\\\\') | replace("'", "\\'") }}'''
{%- endmacro %}

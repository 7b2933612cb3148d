{#- A number as text with `decimals` digits after the point, the same on every engine (a cast of a float to text
    is not: DuckDB writes 127.0 where BigQuery documents only "an approximate string representation"). -#}
{% macro fixed_decimals_text(expression, decimals) -%}
    {%- if decimals is not integer or decimals < 0 -%}
        {{ exceptions.raise_compiler_error("fixed_decimals_text: decimals must be a whole number >= 0, got "
            ~ decimals) }}
    {%- endif -%}
    {{ return(adapter.dispatch('fixed_decimals_text', 'riskmart')(expression, decimals)) }}
{%- endmacro %}

{#- DuckDB: printf's fixed-point format. -#}
{% macro default__fixed_decimals_text(expression, decimals) -%}
    printf('%.{{ decimals }}f', {{ expression }})
{%- endmacro %}

{#- BigQuery: FORMAT's fixed-point format (the same specifier). -#}
{% macro bigquery__fixed_decimals_text(expression, decimals) -%}
    format('%.{{ decimals }}f', {{ expression }})
{%- endmacro %}

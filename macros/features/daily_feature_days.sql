{#- Number of trailing days that get a daily feature date (var `daily_feature_days`, a non-negative integer). -#}
{% macro daily_feature_days() -%}
    {%- set value = var('daily_feature_days', 31) -%}
    {%- if value is not number or value < 0 or value != (value | int) -%}
        {{ exceptions.raise_compiler_error("var daily_feature_days must be a non-negative integer, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}

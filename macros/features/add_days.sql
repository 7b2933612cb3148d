{#- `date_expression` plus `days` days, as a date on every engine (dbt.dateadd gives a timestamp on DuckDB). -#}
{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

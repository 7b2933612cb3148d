{#- One row per day from `start_column` to `end_column` (inclusive) of each row of `bounds` (a relation or
    CTE name), in a date column named `day_column`. -#}
{% macro date_series(bounds, start_column, end_column, day_column) -%}
    {{ return(adapter.dispatch('date_series', 'riskmart')(bounds, start_column, end_column, day_column)) }}
{%- endmacro %}

{% macro default__date_series(bounds, start_column, end_column, day_column) -%}
    {{ exceptions.raise_compiler_error("date_series has no implementation for adapter '" ~ adapter.type() ~ "'") }}
{%- endmacro %}

{% macro duckdb__date_series(bounds, start_column, end_column, day_column) -%}
    select cast(unnest(generate_series(
        cast({{ start_column }} as date), cast({{ end_column }} as date), interval 1 day
    )) as date) as {{ day_column }}
    from {{ bounds }}
    where {{ start_column }} <= {{ end_column }}
{%- endmacro %}

{% macro bigquery__date_series(bounds, start_column, end_column, day_column) -%}
    select {{ day_column }}
    from {{ bounds }}
    cross join unnest(generate_date_array({{ start_column }}, {{ end_column }})) as {{ day_column }}
    where {{ start_column }} <= {{ end_column }}
{%- endmacro %}

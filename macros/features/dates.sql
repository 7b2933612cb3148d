{#- `date_expression` plus `days` days, as a date on every engine (dbt.dateadd gives a timestamp on DuckDB). -#}
{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{#- Whole days from `start_date` to `end_date`, two dates (positive when end is later). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'riskmart')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{#- DuckDB subtracts dates directly (dbt.datediff casts both sides to timestamps first). -#}
{% macro duckdb__days_between(start_date, end_date) -%}
    datediff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro bigquery__days_between(start_date, end_date) -%}
    date_diff({{ end_date }}, {{ start_date }}, day)
{%- endmacro %}

{#- Whole calendar months from `start_date` to `end_date`: a month counts once its day of month is reached
    (Jan 15 to Mar 14 is 1, to Mar 15 is 2). -#}
{% macro full_months_between(start_date, end_date) -%}
    (
        {{ dbt.datediff(start_date, end_date, 'month') }}
        - case when extract(day from {{ end_date }}) < extract(day from {{ start_date }}) then 1 else 0 end
    )
{%- endmacro %}

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

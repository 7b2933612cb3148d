{#- Emulator gap, for the `emulator` target only: bqemulator cannot parse the column list dbt-bigquery puts in
    a contracted model's DDL (`create or replace table t (col type not null, ...) options() as (select ...)`).
    There the list is left out; dbt still checks the contract's column names and types against the query
    (`get_assert_columns_equivalent`), so only the NOT NULL constraints go unproven. Every other BigQuery
    target gets dbt's own column list. -#}
{% macro bigquery__get_table_columns_and_constraints() -%}
    {%- if target.name == 'emulator' -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(default__get_table_columns_and_constraints()) }}
{%- endmacro %}

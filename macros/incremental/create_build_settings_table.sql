{#- on-run-start: the fingerprint table exists before any model runs (models run in parallel, and two
    threads creating it at once would conflict). -#}
{% macro create_build_settings_table() -%}
    {%- set relation = build_settings_relation() -%}
    {%- if execute -%}
        {%- do adapter.create_schema(relation) -%}
    {%- endif -%}
    create table if not exists {{ relation }} (
        model_name {{ dbt.type_string() }},
        settings_fingerprint {{ dbt.type_string() }},
        recorded_at {{ dbt.type_timestamp() }}
    );
    alter table {{ relation }} add column if not exists ingested_through {{ dbt.type_timestamp() }};
    -- the models record by inserting (record_settings_fingerprint): keep each model's newest row, here, before
    -- any model runs, where no other statement writes the table
    delete from {{ relation }} as superseded
    where superseded.recorded_at < (
        select max(newest.recorded_at)
        from {{ relation }} as newest
        where newest.model_name = superseded.model_name
    );
    create table if not exists {{ staged_changes_relation() }} (
        model_name {{ dbt.type_string() }},
        client_id {{ dbt.type_string() }},
        first_affected_date date,
        ingested_through {{ dbt.type_timestamp() }}
    )
{%- endmacro %}

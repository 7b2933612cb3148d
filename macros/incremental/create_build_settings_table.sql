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
    create table if not exists {{ staged_changes_relation() }} (
        model_name {{ dbt.type_string() }},
        client_id {{ dbt.type_string() }},
        first_affected_date date,
        ingested_through {{ dbt.type_timestamp() }}
    )
{%- endmacro %}

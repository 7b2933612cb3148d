{#- This model's row of `build_settings_relation` as a dict (settings_fingerprint, ingested_through: a
    datetime), or none when no build was recorded. Runs a query: execution time only. -#}
{% macro last_build_settings() -%}
    {%- set relation = build_settings_relation() -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {#- e.g. `dbt compile`, which runs no on-run-start hook, on a warehouse built before this table -#}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select settings_fingerprint, ingested_through
        from {{ relation }} where model_name = '{{ model.unique_id }}'
        -- the newest record (record_settings_fingerprint only inserts)
        order by recorded_at desc
        limit 1
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {{ return({'settings_fingerprint': rows[0][0], 'ingested_through': rows[0][1]} if rows else none) }}
{%- endmacro %}

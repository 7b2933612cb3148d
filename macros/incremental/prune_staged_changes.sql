{#- Retention of the staged change log (`riskmart maintain`, `dbt run-operation prune_staged_changes`):
    delete the rows every reader has consumed. A reader is an incremental model that reads the log
    (`stg_riskmart_meta__staged_changes`, through `unread_staged_changes`: `client_dates_to_build`,
    `invoices_to_rebuild`); it reads only rows with `ingested_through` above the watermark it recorded at its
    last build
    (`record_settings_fingerprint`; its newest record counts), so a row at or below the lowest recorded watermark is never read again.
    A reader with no recorded watermark rebuilds every date at its next build and reads no row. A row with
    no watermark is never read (a comparison with NULL is never true). With no recorded watermark at all,
    nothing but those is deleted. -#}
{% macro prune_staged_changes() -%}
    {%- set log_node = 'model.' ~ project_name ~ '.stg_riskmart_meta__staged_changes' -%}
    {%- set readers = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.config.materialized == 'incremental'
        and log_node in node.depends_on.nodes -%}
        {%- do readers.append(node.unique_id) -%}
    {%- endfor -%}
    {%- if not readers -%}
        {{ exceptions.raise_compiler_error('no incremental model reads ' ~ log_node ~ ': refusing to prune') }}
    {%- endif -%}
    {%- set reader_list = "'" ~ (readers | sort | join("', '")) ~ "'" -%}
    {%- set prune -%}
        delete from {{ staged_changes_relation() }}
        where
            ingested_through is null
            or ingested_through <= (
                select min(newest.ingested_through)
                from (
                    -- each model's newest record counts (record_settings_fingerprint only inserts)
                    select
                        built.ingested_through,
                        row_number() over (partition by built.model_name order by built.recorded_at desc) as recency
                    from {{ build_settings_relation() }} as built
                    where built.model_name in ({{ reader_list }})
                ) as newest
                where newest.recency = 1
            )
    {%- endset -%}
    {%- do run_query(prune) -%}
    {%- do adapter.commit() -%}
    {{ log('pruned ' ~ staged_changes_relation() ~ ' below the lowest watermark of: ' ~ reader_list, info=true) }}
{%- endmacro %}

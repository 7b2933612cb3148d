{#- What an incremental feature model must know of its last build to rebuild exactly the dates that may
    have changed since: after each build it records (1) a fingerprint of the content of every seed upstream
    of it, because a seed the risk team edits (the timeliness curve, the feature parameters, the rule
    weights) changes every date, so a new fingerprint means rebuild every date; and (2) how far the
    ingest log had got (`ingested_through`, the newest delivery's finished_at), so the next run rebuilds
    the dates the deliveries loaded since can change (`int_delivery_impact`). The table stays equal to a
    full refresh, with no --full-refresh to remember. -#}

{#- The relation that keeps one fingerprint per model (schema `riskmart_meta`, out of BI's way). -#}
{% macro build_settings_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='riskmart_meta', identifier='build_settings')) }}
{%- endmacro %}

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

{#- The log of staged event changes by client (`log_staged_changes`), read by the feature models as
    the staging view `stg_riskmart_meta__staged_changes`. -#}
{% macro staged_changes_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='riskmart_meta', identifier='staged_changes')) }}
{%- endmacro %}

{#- Every seed upstream of the node `node_id`, as a list of seed nodes (each once). -#}
{% macro upstream_seeds(node_id, found=none, visited=none) -%}
    {%- set found = [] if found is none else found -%}
    {%- set visited = [] if visited is none else visited -%}
    {%- for parent in graph.nodes[node_id].depends_on.nodes if parent not in visited -%}
        {%- do visited.append(parent) -%}
        {%- if parent.startswith('seed.') -%}
            {%- do found.append(graph.nodes[parent]) -%}
        {%- elif parent.startswith('model.') -%}
            {%- do upstream_seeds(parent, found, visited) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- A table row as text, for fingerprints. -#}
{% macro row_as_text(alias) -%}
    {{ return(adapter.dispatch('row_as_text', 'riskmart')(alias)) }}
{%- endmacro %}

{% macro default__row_as_text(alias) -%}
    cast({{ alias }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro bigquery__row_as_text(alias) -%}
    to_json_string({{ alias }})
{%- endmacro %}

{#- Fingerprint (md5) of the current content of every seed upstream of the model being built; '' when it
    has none. Runs a query, so only call it at execution time. -#}
{% macro settings_fingerprint() -%}
    {%- set seeds = upstream_seeds(model.unique_id) | sort(attribute='unique_id') -%}
    {%- if not seeds -%}
        {{ return('') }}
    {%- endif -%}
    {%- set query -%}
        select {{ dbt.hash(dbt.listagg('entry', "'|'", 'order by entry')) }} as settings_fingerprint
        from (
            {%- for seed in seeds %}
            select '{{ seed.name }}: ' || {{ row_as_text('seed_rows') }} as entry
            from {{ api.Relation.create(database=seed.database, schema=seed.schema, identifier=seed.alias) }}
                as seed_rows
            {{ 'union all' if not loop.last }}
            {%- endfor %}
        ) as entries
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] or '') }}
{%- endmacro %}

{#- This model's row of `build_settings_relation` as a dict (settings_fingerprint, ingested_through), or
    none when no build was recorded. Runs a query: execution time only. -#}
{% macro last_build_settings() -%}
    {%- set relation = build_settings_relation() -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {#- e.g. `dbt compile`, which runs no on-run-start hook, on a warehouse built before this table -#}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select settings_fingerprint, cast(ingested_through as {{ dbt.type_string() }}) as ingested_through
        from {{ relation }} where model_name = '{{ model.unique_id }}'
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {{ return({'settings_fingerprint': rows[0][0], 'ingested_through': rows[0][1]} if rows else none) }}
{%- endmacro %}

{#- True when this incremental model must rebuild every feature date: the seeds upstream of it changed since
    its last recorded build, or no build (or no ingest watermark) was recorded. -#}
{% macro settings_changed_since_last_build() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set last = last_build_settings() -%}
    {{ return(last is none or last.ingested_through is none
        or last.settings_fingerprint != settings_fingerprint()) }}
{%- endmacro %}

{#- SQL literal of how far the ingest log had got at this model's last build (a timestamp), for
    `feature_dates_to_build`; only called after `settings_changed_since_last_build()` said false. -#}
{% macro ingested_through_last_build() -%}
    {{ return("cast('" ~ last_build_settings().ingested_through ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{#- Post-hook of the incremental feature models: record the fingerprint and the ingest watermark this build
    used. -#}
{% macro record_settings_fingerprint() -%}
    {%- set relation = build_settings_relation() -%}
    {%- set fingerprint = settings_fingerprint() if execute else '' -%}
    delete from {{ relation }} where model_name = '{{ model.unique_id }}';
    insert into {{ relation }} (model_name, settings_fingerprint, recorded_at, ingested_through)
    select
        '{{ model.unique_id }}', '{{ fingerprint }}', {{ dbt.current_timestamp() }}, max(impact.finished_at)
    from {{ ref('int_delivery_impact') }} as impact
{%- endmacro %}

{#- Incremental models recompute only their latest feature dates, but a seed the risk team edits (the
    timeliness curve, the feature parameters, the rule weights) changes every date. So each incremental
    feature model records a fingerprint of the content of every seed upstream of it after each build, and
    its next incremental run recomputes every feature date when the fingerprint differs: the table stays
    equal to a full refresh after a seed edit, with no --full-refresh to remember. -#}

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
    )
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

{#- True when the seeds upstream of this incremental model changed since its last recorded build (or no
    build was recorded): its next run must then recompute every feature date. -#}
{% macro settings_changed_since_last_build() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set relation = build_settings_relation() -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {#- e.g. `dbt compile`, which runs no on-run-start hook, on a warehouse built before this table -#}
        {{ return(true) }}
    {%- endif -%}
    {%- set query -%}
        select settings_fingerprint from {{ relation }} where model_name = '{{ model.unique_id }}'
    {%- endset -%}
    {%- set stored = run_query(query).columns[0].values() -%}
    {{ return(stored | length == 0 or stored[0] != settings_fingerprint()) }}
{%- endmacro %}

{#- Post-hook of the incremental feature models: record the fingerprint this build used. -#}
{% macro record_settings_fingerprint() -%}
    {%- set relation = build_settings_relation() -%}
    {%- set fingerprint = settings_fingerprint() if execute else '' -%}
    delete from {{ relation }} where model_name = '{{ model.unique_id }}';
    insert into {{ relation }} (model_name, settings_fingerprint, recorded_at)
    values ('{{ model.unique_id }}', '{{ fingerprint }}', {{ dbt.current_timestamp() }})
{%- endmacro %}

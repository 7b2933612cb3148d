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

{#- Fingerprint (md5) of the current content of every seed upstream of the model being built; '' when it
    has none. Runs a query (once per model and invocation: build_settings_memo), so only call it at
    execution time. -#}
{% macro settings_fingerprint() -%}
    {%- set memo = build_settings_memo() -%}
    {%- if 'settings_fingerprint' not in memo -%}
        {%- do memo.update({'settings_fingerprint': seeds_fingerprint()}) -%}
    {%- endif -%}
    {{ return(memo['settings_fingerprint']) }}
{%- endmacro %}

{#- settings_fingerprint's query, run every time. -#}
{% macro seeds_fingerprint() -%}
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

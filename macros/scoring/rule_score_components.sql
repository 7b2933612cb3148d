{#- The components of the rule score and the feature each reads, as (component, feature) pairs ordered by
    component: the rows of the seed `rule_score_components` (its `feature` column), read when the model
    compiles, so the map is data that SQL and the applicant scoring (which reads the published seed) share.
    The seed's own relation is read (not `ref()`), so a unit test's mocked seed rows need no `feature`. -#}
{% macro rule_score_components() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set seed = (graph.get('nodes') or {}).get('seed.riskmart.rule_score_components') -%}
    {%- if seed is none -%}
        {#- a unit test compiles without the graph: the seed where dbt_project.yml builds it (+schema: seeds) -#}
        {%- set seed = {'database': target.database, 'schema': generate_schema_name('seeds', none),
            'alias': 'rule_score_components'} -%}
    {%- endif -%}
    {%- set relation = adapter.get_relation(seed.database, seed.schema, seed.alias) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "the seed rule_score_components is not built in " ~ seed.database ~ "." ~ seed.schema
            ~ ": the rule score's components are read from it when a model compiles; run `dbt seed` first"
        ) }}
    {%- endif -%}
    {%- set rows = run_query(
        'select component, feature from ' ~ relation ~ ' order by component'
    ).rows -%}
    {%- set components = [] -%}
    {%- for row in rows -%}
        {%- if not modules.re.match('^[a-z0-9_]+$', row[0] ~ '') or not modules.re.match('^[a-z0-9_]+$', row[1] ~ '') -%}
            {{ exceptions.raise_compiler_error(
                "rule_score_components: component and feature must be snake_case column names, got '"
                ~ row[0] ~ "', '" ~ row[1] ~ "'"
            ) }}
        {%- endif -%}
        {%- do components.append((row[0], row[1])) -%}
    {%- endfor -%}
    {{ return(components) }}
{%- endmacro %}

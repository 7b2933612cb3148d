{#- Every check the columns of a model, seed or source table declare in their YAML
    (`config: meta: checks: {not_null: true, accepted_range: {...}, accepted_values: [...]}`), in one scan of
    the relation: one test node per relation instead of one per column and check, whose cost is mostly dbt's
    own. Fails with one row per failing (column, check): how many rows fail it and one failing value (none
    for not_null).
    NULL passes accepted_range and accepted_values, as not_null is its own check. -#}
{% test column_checks(model) %}

    {%- set checks = [] -%}
    {%- if execute -%}
        {%- set node = node_under_test() -%}
        {%- set checks = declared_column_checks(node) -%}
        {%- if not checks -%}
            {{ exceptions.raise_compiler_error(
                "column_checks on " ~ node.unique_id ~ ": no column declares `config: meta: checks:`") }}
        {%- endif -%}
        {%- set relation = api.Relation.create(
            database=node.database, schema=node.schema,
            identifier=node.identifier if node.resource_type == 'source' else node.alias) -%}
        {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {#- no columns: the relation is not built yet (dbt compile on an empty warehouse); nothing to compare -#}
        {%- set missing = checks | map(attribute='column_name') | map('lower') | reject('in', existing) | unique | list -%}
        {%- if existing and missing -%}
            {{ exceptions.raise_compiler_error(
                "column_checks on " ~ node.unique_id ~ ": checks declared on columns that " ~ relation
                ~ " does not have: " ~ (missing | join(', '))) }}
        {%- endif -%}
    {%- endif %}

    with

    scanned as (
        select
            {%- for check in checks %}
            sum(case when {{ check.fails }} then 1 else 0 end) as failing_rows_{{ loop.index }},
            {%- if check.check_name == 'not_null' %}
            cast(null as {{ dbt.type_string() }}) as example_value_{{ loop.index }}{{ ',' if not loop.last }}
            {%- else %}
            min(case when {{ check.fails }} then cast({{ check.column_name }} as {{ dbt.type_string() }}) end)
                as example_value_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endif %}
            {%- endfor %}
        from {{ model }}
    ),

    declared_checks as (
        {%- for check in checks %}
        select
            {{ loop.index }} as check_number,
            '{{ check.column_name }}' as column_name,
            '{{ check.check_name }}' as check_name,
            '{{ check.expected }}' as expected
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ),

    -- one row per check, each picking its own pair of aggregates: scanned is read once
    results as (
        select
            declared_checks.column_name,
            declared_checks.check_name,
            declared_checks.expected,
            case declared_checks.check_number
                {%- for check in checks %}
                when {{ loop.index }} then scanned.failing_rows_{{ loop.index }}
                {%- endfor %}
            end as failing_rows,
            case declared_checks.check_number
                {%- for check in checks %}
                when {{ loop.index }} then scanned.example_value_{{ loop.index }}
                {%- endfor %}
            end as example_value
        from declared_checks
        cross join scanned
    )

    select
        column_name,
        check_name,
        expected,
        failing_rows,
        example_value
    from results
    where failing_rows > 0

{% endtest %}

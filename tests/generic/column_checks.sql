{#- Every check a model, seed or source table declares in its YAML, in one test node per relation instead of
    one per column and check (whose cost is mostly dbt's own):
    * on a column, `config: meta: checks: {not_null: true, accepted_range: {...}, accepted_values: [...],
      unique: true}` (macros/testing/declared_column_checks.sql);
    * on the relation itself, `config: meta: checks: {unique_key: [a, b], expressions: ["a <= b"]}`
      (declared_relation_checks, same file).
    The row checks (not_null, accepted_range, accepted_values, expressions) are counted in one scan of the
    relation; each uniqueness check (unique, unique_key) groups it by its key. Fails with one row per failing
    check: column_name (a key's columns joined with ', ', none for an expression), check_name, expected,
    failing_rows (for a uniqueness check: the rows whose key repeats) and example_value (one failing value as
    text; a repeated key's values joined with ', '; none for not_null and expressions).
    NULL passes accepted_range, accepted_values and expressions, as not_null is its own check; unique ignores
    NULLs, unique_key counts NULL as a value. -#}
{% test column_checks(model) %}

    {%- set checks = [] -%}
    {%- if execute -%}
        {%- set node = node_under_test() -%}
        {%- set checks = declared_column_checks(node) + declared_relation_checks(node) -%}
        {%- if not checks -%}
            {{ exceptions.raise_compiler_error(
                "column_checks on " ~ node.unique_id ~ ": neither the relation nor a column declares"
                ~ " `config: meta: checks:`") }}
        {%- endif -%}
        {%- set relation = api.Relation.create(
            database=node.database, schema=node.schema,
            identifier=node.identifier if node.resource_type == 'source' else node.alias) -%}
        {%- set existing = relation_column_names(node, relation) -%}
        {%- set named = [] -%}
        {%- for check in checks -%}
            {%- do named.extend(check.key_columns or ([check.column_name] if check.column_name else [])) -%}
        {%- endfor -%}
        {#- no columns: the relation is not built yet (dbt compile on an empty warehouse); nothing to compare -#}
        {%- set missing = named | map('lower') | reject('in', existing) | unique | list -%}
        {%- if existing and missing -%}
            {{ exceptions.raise_compiler_error(
                "column_checks on " ~ node.unique_id ~ ": checks declared on columns that " ~ relation
                ~ " does not have: " ~ (missing | join(', '))) }}
        {%- endif -%}
    {%- endif %}
    {%- set row_checks = [] -%}
    {%- set key_checks = [] -%}
    {%- for check in checks -%}
        {%- do (key_checks if check.key_columns else row_checks).append((loop.index, check)) -%}
    {%- endfor %}

    with

    {%- if row_checks %}

    scanned as (
        select
            {%- for number, check in row_checks %}
            sum(case when {{ check.fails }} then 1 else 0 end) as failing_rows_{{ number }},
            {%- if check.check_name in ('not_null', 'expression_is_true') %}
            cast(null as {{ dbt.type_string() }}) as example_value_{{ number }}{{ ',' if not loop.last }}
            {%- else %}
            min(case when {{ check.fails }} then cast({{ check.column_name }} as {{ dbt.type_string() }}) end)
                as example_value_{{ number }}{{ ',' if not loop.last }}
            {%- endif %}
            {%- endfor %}
        from {{ model }}
    ),
    {%- endif %}

    {%- for number, check in key_checks %}
    {%- set key_text = [] -%}
    {%- for column in check.key_columns -%}
        {%- if not loop.first -%}
            {%- do key_text.append("', '") -%}
        {%- endif -%}
        {%- do key_text.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), 'null')") -%}
    {%- endfor %}

    -- {{ check.check_name }} {{ check.column_name }}: each repeated key once, with its row count
    repeated_keys_{{ number }} as (
        select
            {{ key_text[0] if key_text | length == 1 else dbt.concat(key_text) }}
                as repeated_key,
            count(*) as occurrences
        {#- a unique check with its own `where` reads the whole relation with it, as a test with that `where` #}
        from {{ relation if check.where else model }}
        {%- set filters = (['(' ~ check.where ~ ')'] if check.where else [])
            + ([check.key_columns[0] ~ ' is not null'] if check.skip_nulls else []) %}
        {%- if filters %}
        where {{ filters | join(' and ') }}
        {%- endif %}
        group by {{ check.key_columns | join(', ') }}
        having count(*) > 1
    ),

    repeats_{{ number }} as (
        select
            sum(occurrences) as failing_rows_{{ number }},
            min(repeated_key) as example_value_{{ number }}
        from repeated_keys_{{ number }}
    ),
    {%- endfor %}

    declared_checks as (
        {%- for check in checks %}
        select
            {{ loop.index }} as check_number,
            {% if check.column_name -%}
            {{ dbt.string_literal(dbt.escape_single_quotes(check.column_name)) }}
            {%- else -%}
            cast(null as {{ dbt.type_string() }})
            {%- endif %} as column_name,
            {{ dbt.string_literal(check.check_name) }} as check_name,
            {{ dbt.string_literal(dbt.escape_single_quotes(check.expected)) }} as expected
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ),

    -- one row per check, each picking its own pair of aggregates: the relation is scanned once for the row
    -- checks and grouped once per uniqueness check
    results as (
        select
            declared_checks.column_name,
            declared_checks.check_name,
            declared_checks.expected,
            case declared_checks.check_number
                {%- for number, check in row_checks %}
                when {{ number }} then scanned.failing_rows_{{ number }}
                {%- endfor %}
                {%- for number, check in key_checks %}
                when {{ number }} then repeats_{{ number }}.failing_rows_{{ number }}
                {%- endfor %}
            end as failing_rows,
            case declared_checks.check_number
                {%- for number, check in row_checks %}
                when {{ number }} then scanned.example_value_{{ number }}
                {%- endfor %}
                {%- for number, check in key_checks %}
                when {{ number }} then repeats_{{ number }}.example_value_{{ number }}
                {%- endfor %}
            end as example_value
        from declared_checks
        {%- if row_checks %}
        cross join scanned
        {%- endif %}
        {%- for number, check in key_checks %}
        cross join repeats_{{ number }}
        {%- endfor %}
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

{#- Every check the columns of `node` declare under `config: meta: checks:`, in YAML order, as dicts:
    column_name, check_name, expected (text for the failure report), and either fails (SQL condition true on
    a failing row; NULL on a NULL value, so NULL passes every check but not_null) or, for a uniqueness check,
    key_columns (the columns whose values must not repeat) and where (its own row filter, or none).
    Column checks: `not_null: true`, `accepted_range: {...}`, `accepted_values: [...]`, `unique: true` (NULLs
    ignored) or `unique: {where: "<condition>"}` (only among the rows matching it).
    Raises a compilation error on an unknown check or argument, so a typo cannot drop a check. -#}
{% macro declared_column_checks(node) -%}
    {%- set checks = [] -%}
    {%- for column in node.columns.values() -%}
        {%- set declared = ((column.get('config') or {}).get('meta') or {}).get('checks') or {} -%}
        {%- set where = node.unique_id ~ ", column " ~ column.name -%}
        {%- for check_name, arguments in declared.items() -%}
            {%- if check_name == 'not_null' -%}
                {%- if arguments is not sameas true -%}
                    {{ exceptions.raise_compiler_error(where ~ ": not_null takes `true`, got " ~ arguments) }}
                {%- endif -%}
                {%- do checks.append({
                    'column_name': column.name, 'check_name': check_name, 'expected': 'not null',
                    'fails': column.name ~ ' is null'}) -%}
            {%- elif check_name == 'accepted_range' -%}
                {%- do checks.append(accepted_range_check(column.name, arguments, where)) -%}
            {%- elif check_name == 'accepted_values' -%}
                {%- do checks.append(accepted_values_check(column.name, arguments, where)) -%}
            {%- elif check_name == 'unique' -%}
                {%- do checks.append(unique_check(column.name, arguments, where)) -%}
            {%- else -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": unknown check " ~ check_name
                    ~ " (known: not_null, accepted_range, accepted_values, unique)") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- do return(checks) -%}
{%- endmacro %}

{#- An accepted_range check: {min_value, max_value, inclusive (default true)}, at least one bound. -#}
{% macro accepted_range_check(column_name, arguments, where) -%}
    {%- if arguments is not mapping
        or arguments.keys() | reject('in', ['min_value', 'max_value', 'inclusive']) | list
        or (arguments.get('min_value') is none and arguments.get('max_value') is none) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": accepted_range takes min_value and/or max_value, and inclusive; got " ~ arguments) }}
    {%- endif -%}
    {%- set inclusive = arguments.get('inclusive', true) -%}
    {%- if inclusive is not boolean -%}
        {{ exceptions.raise_compiler_error(where ~ ": accepted_range's inclusive must be true or false") }}
    {%- endif -%}
    {%- set failing = [] -%}
    {%- set expected = [] -%}
    {%- for bound, operator, opposite in [
            ('min_value', '>=' if inclusive else '>', '<' if inclusive else '<='),
            ('max_value', '<=' if inclusive else '<', '>' if inclusive else '>=')] -%}
        {%- set value = arguments.get(bound) -%}
        {%- if value is not none -%}
            {%- if value is boolean or value is not number -%}
                {{ exceptions.raise_compiler_error(where ~ ": accepted_range's " ~ bound ~ " must be a number") }}
            {%- endif -%}
            {%- do failing.append(column_name ~ ' ' ~ opposite ~ ' ' ~ value) -%}
            {%- do expected.append(operator ~ ' ' ~ value) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return({
        'column_name': column_name, 'check_name': 'accepted_range', 'expected': expected | join(' and '),
        'fails': failing | join(' or ')}) -%}
{%- endmacro %}

{#- An accepted_values check: a non-empty list of strings, numbers or booleans, each compared as its YAML type
    (a string is quoted, a number or boolean is not). -#}
{% macro accepted_values_check(column_name, values, where) -%}
    {%- if values is string or values is not sequence or values is mapping or not values -%}
        {{ exceptions.raise_compiler_error(where ~ ": accepted_values takes a non-empty list, got " ~ values) }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- set shown = [] -%}
    {%- for value in values -%}
        {%- if value is boolean -%}
            {%- do literals.append('true' if value else 'false') -%}
            {%- do shown.append(literals[-1]) -%}
        {%- elif value is number -%}
            {%- do literals.append(value | string) -%}
            {%- do shown.append(literals[-1]) -%}
        {%- elif value is string and "'" not in value and "\\" not in value -%}
            {%- do literals.append(dbt.string_literal(value)) -%}
            {%- do shown.append(value) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": accepted_values takes strings (without quotes or backslashes), numbers and booleans; got "
                ~ value) }}
        {%- endif -%}
    {%- endfor -%}
    {%- do return({
        'column_name': column_name, 'check_name': 'accepted_values',
        'expected': 'one of ' ~ (shown | join(', ')),
        'fails': column_name ~ ' not in (' ~ (literals | join(', ')) ~ ')'}) -%}
{%- endmacro %}

{#- A column's unique check: `true` (no two non-NULL values alike, as dbt's `unique` test) or
    `{where: "<condition>"}` (no two alike among the rows matching the condition, which replaces the test's own
    `where`: e.g. staging's recent-exports filter does not apply to it). -#}
{% macro unique_check(column_name, arguments, where) -%}
    {%- if arguments is sameas true -%}
        {%- set row_filter = none -%}
    {%- elif arguments is mapping and arguments.keys() | list == ['where']
        and arguments['where'] is string and arguments['where'] | trim -%}
        {%- set row_filter = arguments['where'] -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": unique takes `true` or `{where: <condition>}`, got " ~ arguments) }}
    {%- endif -%}
    {%- do return({
        'column_name': column_name, 'check_name': 'unique',
        'expected': 'unique' ~ (' where ' ~ row_filter if row_filter else ''),
        'key_columns': [column_name], 'skip_nulls': true, 'where': row_filter}) -%}
{%- endmacro %}

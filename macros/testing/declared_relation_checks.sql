{#- Every check `node` declares on itself (not on one column) under `config: meta: checks:`:
    `unique_key: [a, b]` (no two rows share the combination; NULL counts as a value, as a GROUP BY does) and
    `expressions: ["<boolean SQL>", ...]` (each true on every row; NULL passes). Same dicts as
    declared_column_checks: the key's column_name is its columns joined with ', '; an expression's
    column_name is none and its expected is the expression. A compilation error on an unknown key or a
    malformed argument. -#}
{% macro declared_relation_checks(node) -%}
    {%- set checks = [] -%}
    {%- set declared = (node.config.get('meta') or {}).get('checks') or (node.get('meta') or {}).get('checks') or {} -%}
    {%- set where = node.unique_id -%}
    {%- if declared is not mapping -%}
        {{ exceptions.raise_compiler_error(where ~ ": `config: meta: checks:` must be a mapping, got " ~ declared) }}
    {%- endif -%}
    {%- for check_name, arguments in declared.items() -%}
        {%- if check_name == 'unique_key' -%}
            {%- if arguments is string or arguments is not sequence or arguments is mapping or not arguments
                or arguments | reject('string') | list or arguments | unique | list | length != arguments | length -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": unique_key takes a non-empty list of distinct column names, got " ~ arguments) }}
            {%- endif -%}
            {%- do checks.append({
                'column_name': arguments | join(', '), 'check_name': 'unique_key', 'expected': 'unique',
                'key_columns': arguments | list, 'skip_nulls': false, 'where': none}) -%}
        {%- elif check_name == 'expressions' -%}
            {%- if arguments is string or arguments is not sequence or arguments is mapping or not arguments -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": expressions takes a non-empty list of boolean SQL expressions, got " ~ arguments) }}
            {%- endif -%}
            {%- for expression in arguments -%}
                {%- if expression is not string or not expression | trim -%}
                    {{ exceptions.raise_compiler_error(
                        where ~ ": each of expressions must be a boolean SQL expression, got " ~ expression) }}
                {%- endif -%}
                {%- do checks.append({
                    'column_name': none, 'check_name': 'expression_is_true', 'expected': expression,
                    'fails': 'not (' ~ expression ~ ')'}) -%}
            {%- endfor -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": unknown check " ~ check_name ~ " (known on a relation: unique_key, expressions)") }}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(checks) -%}
{%- endmacro %}

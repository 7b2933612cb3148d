{#- The value (a typed SQL literal) a feature takes for a client with no history, from `no_history_features`:
    the feature models' `coalesce(aggregated.x, {{ no_history_value('x') }})`. -#}
{% macro no_history_value(column) -%}
    {%- for name, value, type in no_history_features() if name == column -%}
        cast({{ value }} as {{ type }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("no_history_value: " ~ column ~ " is not in no_history_features()") }}
    {%- endfor -%}
{%- endmacro %}

{#- The value of one parameter of the seed `monitoring_parameters` (the thresholds of model monitoring), as a
    scalar subquery; `name` is one of our own parameter names, never user input. -#}
{% macro monitoring_parameter(name) -%}
    {%- if not modules.re.match('^[a-z_]+$', name) -%}
        {{ exceptions.raise_compiler_error("monitoring_parameter name must be snake_case, got '" ~ name ~ "'") }}
    {%- endif -%}
    (
        select monitoring_parameters.value
        from {{ ref('monitoring_parameters') }} as monitoring_parameters
        where monitoring_parameters.parameter = '{{ name }}'
    )
{%- endmacro %}

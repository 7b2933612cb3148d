{#- The value of one parameter of the seed `feature_parameters` (thresholds the risk team tunes), as a scalar
    subquery; `name` is one of our own parameter names, never user input. -#}
{% macro feature_parameter(name) -%}
    {%- if not modules.re.match('^[a-z_]+$', name) -%}
        {{ exceptions.raise_compiler_error("feature_parameter name must be snake_case, got '" ~ name ~ "'") }}
    {%- endif -%}
    (select parameters.value from {{ ref('feature_parameters') }} as parameters where parameters.parameter = '{{ name }}')
{%- endmacro %}

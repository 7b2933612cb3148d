{#- The value of one parameter of the seed `feature_parameters` (thresholds the risk team tunes), as a scalar
    subquery; `name` is one of our own parameter names, never user input. `relation` overrides where the
    seed is read (the applicant scoring query reads the published copy of the seed). -#}
{% macro feature_parameter(name, relation=none) -%}
    {%- if not modules.re.match('^[a-z_]+$', name) -%}
        {{ exceptions.raise_compiler_error("feature_parameter name must be snake_case, got '" ~ name ~ "'") }}
    {%- endif -%}
    (select parameters.value from {{ ref('feature_parameters') if relation is none else relation }} as parameters where parameters.parameter = '{{ name }}')
{%- endmacro %}

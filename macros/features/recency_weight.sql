{#- Weight of an observation `age_days` old when the weight halves every `half_life_days`: 1 today, 1/2 one
    half-life ago, 1/4 two half-lives ago. It decays with age, unlike the old design's 1.5 ^ months_ago. -#}
{% macro recency_weight(age_days, half_life_days) -%}
    power(0.5, cast({{ age_days }} as {{ type_double() }}) / {{ half_life_days }})
{%- endmacro %}

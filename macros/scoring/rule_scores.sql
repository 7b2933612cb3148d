{#- The rule score of every row of `features` (a relation or CTE name holding client_id, feature_date,
    segment and the features the seed `rule_score_components` names), as one select statement: the
    arithmetic of `fct_rule_scores`, written once. `rule_components` and `feature_parameters` are the two
    seeds' relations: `ref()`s in the mart, the published copies for an applicant. -#}
{% macro rule_scores(features, rule_components, feature_parameters) -%}
{%- set components = rule_score_components() %}
with

settings as (

    select
        {%- for component, feature in components %}
            max(case when component = '{{ component }}' then weight end) as {{ component }}_weight,
            max(case when component = '{{ component }}' then safe_value end) as {{ component }}_safe,
            max(case when component = '{{ component }}' then risky_value end) as {{ component }}_risky,
            max(case when component = '{{ component }}' then risk_if_missing end) as {{ component }}_missing,
        {%- endfor %}
        {{ feature_parameter('rule_probability_intercept', feature_parameters) }} as probability_intercept,
        {{ feature_parameter('rule_probability_slope', feature_parameters) }} as probability_slope
    from {{ rule_components }}

),

-- each component's risk: 0 at its safe value, 1 at its risky value, linear between, capped outside
risks as (

    select
        features.client_id,
        features.feature_date,
        features.segment,
        {%- for component, feature in components %}
            case
                when features.{{ feature }} is null then settings.{{ component }}_missing
                else least(1.0, greatest(
                        0.0,
                        (features.{{ feature }} - settings.{{ component }}_safe)
                        / (settings.{{ component }}_risky - settings.{{ component }}_safe)
                    ))
            end as {{ component }}_risk,
        {%- endfor %}
        (
            {%- for component, feature in components %}
                settings.{{ component }}_weight{{ ' +' if not loop.last }}
            {%- endfor %}
        ) as total_weight,
        settings.probability_intercept,
        settings.probability_slope
    from {{ features }} as features
    cross join settings

),

points as (

    select
        risks.*,
        -- noqa: disable=LT02
        {%- for component, feature in components %}
        1000.0 * settings.{{ component }}_weight * risks.{{ component }}_risk / risks.total_weight
            as {{ component }}_points{{ ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from risks
    cross join settings

),

scored as (

    select
        points.*,
        cast(round(1000.0 - (
            {%- for component, feature in components %}
                points.{{ component }}_points{{ ' +' if not loop.last }}
            {%- endfor %}
        )) as {{ dbt.type_int() }}) as rule_score
    from points

)

select
    -- keys
    cast(client_id as {{ dbt.type_string() }}) as client_id,
    cast(feature_date as date) as feature_date,
    segment,

    -- score: 0 to 1000, higher is safer; and the probability of default it implies
    rule_score,
    1.0 / (1.0 + exp(-(probability_intercept + probability_slope * rule_score / 1000.0))) as rule_probability,

    -- points each component takes off 1000, and its risk on 0 (safe) to 1 (full penalty)
    -- noqa: disable=LT02
    {%- for component, feature in components %}
    {{ component }}_points,
    {{ component }}_risk{{ ',' if not loop.last }}
    {%- endfor %}
-- noqa: enable=LT02

from scored
{%- endmacro %}

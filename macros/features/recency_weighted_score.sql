{#- Recency-weighted mean of `value` over the rows of a group (an aggregate: use it with GROUP BY):
    sum(w * value) / sum(w) with w = recency_weight(age_days, half_life_days). Rows whose value is NULL are
    left out of both sums; a group without values gives NULL, never 0. -#}
{% macro recency_weighted_score(value, age_days, half_life_days) -%}
    (
        sum(
            case when {{ value }} is not null
                then {{ recency_weight(age_days, half_life_days) }} * {{ value }}
            end
        )
        / nullif(sum(
            case when {{ value }} is not null
                then {{ recency_weight(age_days, half_life_days) }}
            end
        ), 0)
    )
{%- endmacro %}

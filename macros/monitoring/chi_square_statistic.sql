{#- Aggregate over the categories of one distribution (use it with GROUP BY): Pearson's goodness-of-fit
    statistic sum((o - n * e)^2 / (n * e)) of the observed counts `observed_count` (n in all) against the
    expected shares; an expected share of 0 (a category unseen in the reference) is replaced by `epsilon`,
    as in the PSI, so an unseen category weighs heavily instead of dividing by zero. -#}
{% macro chi_square_statistic(observed_count, expected_share, total_count, epsilon) -%}
    sum(
        power(
            coalesce({{ observed_count }}, 0)
            - {{ total_count }}
            * case when coalesce({{ expected_share }}, 0) = 0 then {{ epsilon }} else {{ expected_share }} end,
            2
        )
        / (
            {{ total_count }}
            * case when coalesce({{ expected_share }}, 0) = 0 then {{ epsilon }} else {{ expected_share }} end
        )
    )
{%- endmacro %}

{#- Aggregate over the bins of one distribution (use it with GROUP BY): the Jensen–Shannon distance in base 2
    (0 = identical, 1 = disjoint), sqrt(JS divergence) with JS = (KL(a || m) + KL(e || m)) / 2, m = (a + e) / 2,
    and 0 * ln 0 = 0, so no smoothing is needed. As scipy.spatial.distance.jensenshannon(a, e, base=2) when
    the shares each sum to 1. NULL shares count as 0. -#}
{% macro jensen_shannon_distance(actual_share, expected_share) -%}
    sqrt(greatest(
        (
            sum(
                case when coalesce({{ actual_share }}, 0) > 0
                    then {{ actual_share }} * ln(
                        2 * {{ actual_share }} / ({{ actual_share }} + coalesce({{ expected_share }}, 0))
                    )
                    else 0
                end
            )
            + sum(
                case when coalesce({{ expected_share }}, 0) > 0
                    then {{ expected_share }} * ln(
                        2 * {{ expected_share }} / ({{ expected_share }} + coalesce({{ actual_share }}, 0))
                    )
                    else 0
                end
            )
        ) / (2 * ln(2)),
        0
    ))
{%- endmacro %}

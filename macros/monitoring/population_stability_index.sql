{#- Aggregate over the bins of one distribution (use it with GROUP BY): the population stability index
    sum((a - e) * ln(a / e)), a = actual (current) share, e = expected (reference) share of a bin. A share of
    0 (an empty bin, or a category unseen in the reference) is replaced by `epsilon` on either side, so the
    index stays finite; a bin whose shares are both NULL is left out. -#}
{% macro population_stability_index(actual_share, expected_share, epsilon) -%}
    sum(
        (
            case when coalesce({{ actual_share }}, 0) = 0 then {{ epsilon }} else {{ actual_share }} end
            - case when coalesce({{ expected_share }}, 0) = 0 then {{ epsilon }} else {{ expected_share }} end
        )
        * ln(
            case when coalesce({{ actual_share }}, 0) = 0 then {{ epsilon }} else {{ actual_share }} end
            / case when coalesce({{ expected_share }}, 0) = 0 then {{ epsilon }} else {{ expected_share }} end
        )
    )
{%- endmacro %}

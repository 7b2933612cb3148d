{#- Window expression, one value per bin: |A_k - E_k|, the gap between the cumulative actual and expected
    shares up to and including bin k, bins ordered by `bin_order` within `partition_by` (one distribution).
    The Kolmogorov–Smirnov distance of the binned distributions is its max() over the bins. NULL shares
    count as 0. -#}
{% macro binned_ks_gap(actual_share, expected_share, partition_by, bin_order) -%}
    abs(
        sum(coalesce({{ actual_share }}, 0)) over (
            partition by {{ partition_by }} order by {{ bin_order }} rows between unbounded preceding and current row
        )
        - sum(coalesce({{ expected_share }}, 0)) over (
            partition by {{ partition_by }} order by {{ bin_order }} rows between unbounded preceding and current row
        )
    )
{%- endmacro %}

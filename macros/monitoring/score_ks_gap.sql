{#- Window expression, one value per row: TPR - FPR when every row whose `score` is at least this row's is
    called a default (`outcome` 1): the share of all defaults scored at or above it minus the share of all
    non-defaults. Peers (ties) fall in the same frame, so each distinct score is one threshold, as in
    sklearn.metrics.roc_curve. The Kolmogorov–Smirnov statistic of the scores is its max() per
    `partition_by`; a higher score must mean a higher risk. -#}
{% macro score_ks_gap(score, outcome, partition_by) -%}
    (
        sum(case when {{ outcome }} = 1 then 1.0 else 0 end) over (
            partition by {{ partition_by }} order by {{ score }} desc
            range between unbounded preceding and current row
        )
        / nullif(sum(case when {{ outcome }} = 1 then 1.0 else 0 end) over (partition by {{ partition_by }}), 0)
        - sum(case when {{ outcome }} = 0 then 1.0 else 0 end) over (
            partition by {{ partition_by }} order by {{ score }} desc
            range between unbounded preceding and current row
        )
        / nullif(sum(case when {{ outcome }} = 0 then 1.0 else 0 end) over (partition by {{ partition_by }}), 0)
    )
{%- endmacro %}

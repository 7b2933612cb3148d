{#- Aggregate (use it with GROUP BY): the area under the ROC curve by the rank formula (Mann–Whitney U),
    (R1 - n1 (n1 + 1) / 2) / (n1 n0), R1 the sum of the positives' `average_rank` (ties averaged, so a tie
    between a positive and a negative counts one half), n1 positives and n0 negatives (`outcome` 1 and 0).
    Exact, not a binned approximation; NULL when a group lacks either class. -#}
{% macro mann_whitney_auc(outcome, average_rank) -%}
    (
        (
            sum(case when {{ outcome }} = 1 then {{ average_rank }} else 0 end)
            - sum(case when {{ outcome }} = 1 then 1 else 0 end)
            * (sum(case when {{ outcome }} = 1 then 1 else 0 end) + 1) / 2.0
        )
        / nullif(
            cast(sum(case when {{ outcome }} = 1 then 1 else 0 end) as {{ type_double() }})
            * sum(case when {{ outcome }} = 0 then 1 else 0 end),
            0
        )
    )
{%- endmacro %}

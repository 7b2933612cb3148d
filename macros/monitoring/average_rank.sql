{#- Window expression: the rank (1 = lowest) of `value` within `partition_by`, tied values sharing the average
    of the ranks they span (as scipy.stats.rankdata's default). A tie group spans rank() ascending to
    n + 1 - rank() descending; partitioning by the value itself is avoided (BigQuery refuses to partition by
    a float). -#}
{% macro average_rank(value, partition_by) -%}
    (
        rank() over (partition by {{ partition_by }} order by {{ value }} asc)
        + count(*) over (partition by {{ partition_by }})
        + 1
        - rank() over (partition by {{ partition_by }} order by {{ value }} desc)
    ) / 2.0
{%- endmacro %}

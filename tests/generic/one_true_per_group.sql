{#- Fails with each group (e.g. a client) whose boolean flag column is true on zero rows or on several:
    a "current row" flag such as is_latest_export must mark exactly one row per key. -#}
{% test one_true_per_group(model, column_name, group_by_columns) %}

    {%- set columns_csv = group_by_columns | join(', ') %}

    select
        {{ columns_csv }},
        sum(case when {{ column_name }} then 1 else 0 end) as flagged_rows
    from {{ model }}
    group by {{ columns_csv }}
    having sum(case when {{ column_name }} then 1 else 0 end) <> 1

{% endtest %}

{#- Whole calendar months from `start_date` to `end_date`: a month counts once its day of month is reached
    (Jan 15 to Mar 14 is 1, to Mar 15 is 2). -#}
{% macro full_months_between(start_date, end_date) -%}
    (
        {{ dbt.datediff(start_date, end_date, 'month') }}
        - case when extract(day from {{ end_date }}) < extract(day from {{ start_date }}) then 1 else 0 end
    )
{%- endmacro %}

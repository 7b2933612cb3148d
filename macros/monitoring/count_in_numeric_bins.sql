{#- A SELECT counting the non-NULL values of `values` in the numeric bins of `baseline` (a relation or CTE with
    the columns of int_mon_champion_baselines): a value v of variable x falls in the bin of x with
    bin_lower < v <= bin_upper, a NULL edge being open. Yields `date_column`, `variable_column`, bin_index and
    rows_in_bin, one row per date, variable and bin holding at least one value. Categorical baseline rows
    (no edges) match only a variable whose values are numbers: give them NULL values and they count nowhere. -#}
{% macro count_in_numeric_bins(values, baseline, date_column, variable_column, value_column) -%}
    select
        {{ values }}.{{ date_column }},
        {{ values }}.{{ variable_column }},
        {{ baseline }}.bin_index,
        count(*) as rows_in_bin
    from {{ values }}
    inner join {{ baseline }}
        on
            {{ values }}.{{ variable_column }} = {{ baseline }}.variable
            and ({{ baseline }}.bin_lower is null or {{ values }}.{{ value_column }} > {{ baseline }}.bin_lower)
            and ({{ baseline }}.bin_upper is null or {{ values }}.{{ value_column }} <= {{ baseline }}.bin_upper)
    where {{ values }}.{{ value_column }} is not null
    group by {{ values }}.{{ date_column }}, {{ values }}.{{ variable_column }}, {{ baseline }}.bin_index
{%- endmacro %}

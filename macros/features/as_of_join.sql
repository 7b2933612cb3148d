{#- Point-in-time join: for each row of `spine` (columns `keys` and `spine_date`), the row of `history` with
    the same keys and the newest `history_date` on or before `spine_date`, e.g. a client snapshot as it was
    delivered in the newest export on or before the feature date. Returns the spine's keys and date and the
    history's `columns`; `left=false` drops spine rows without such a history row. `spine` and `history`
    are relation or CTE names. DuckDB has ASOF joins; other engines join on validity intervals. -#}
{% macro as_of_join(spine, history, keys, spine_date, history_date, columns, left=true) -%}
    {{ return(adapter.dispatch('as_of_join', 'riskmart')(spine, history, keys, spine_date, history_date, columns, left)) }}
{%- endmacro %}

{% macro duckdb__as_of_join(spine, history, keys, spine_date, history_date, columns, left) -%}
    select
        {%- for key in keys %}
        spine.{{ key }},
        {%- endfor %}
        spine.{{ spine_date }}
        {%- for column in columns %},
        history.{{ column }}
        {%- endfor %}
    from {{ spine }} as spine
    asof {{ 'left ' if left else '' }}join {{ history }} as history
        on
        {%- for key in keys %}
        spine.{{ key }} = history.{{ key }} and
        {%- endfor %}
        spine.{{ spine_date }} >= history.{{ history_date }}
{%- endmacro %}

{#- Portable form: each history row is valid from its date until the next row's date (exclusive). -#}
{% macro default__as_of_join(spine, history, keys, spine_date, history_date, columns, left) -%}
    select
        {%- for key in keys %}
        spine.{{ key }},
        {%- endfor %}
        spine.{{ spine_date }}
        {%- for column in columns %},
        history.{{ column }}
        {%- endfor %}
    from {{ spine }} as spine
    {{ 'left ' if left else '' }}join (
        select
            versions.*,
            lead(versions.{{ history_date }}) over (
                partition by {% for key in keys %}versions.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
                order by versions.{{ history_date }}
            ) as as_of_join_valid_to
        from {{ history }} as versions
    ) as history
        on
        {%- for key in keys %}
        spine.{{ key }} = history.{{ key }} and
        {%- endfor %}
        spine.{{ spine_date }} >= history.{{ history_date }}
        and (history.as_of_join_valid_to is null or spine.{{ spine_date }} < history.as_of_join_valid_to)
{%- endmacro %}

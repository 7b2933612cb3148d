{#- The raw rows a staging model reads: the newest delivery of each path (`is_newest_delivery`); on an
    incremental run only the rows of the keys `changed_raw_keys` gives. The keys are joined, not tested with
    `in`: DuckDB then reads only those keys' rows (0.04 s instead of 0.3-0.8 s for a day's payments among
    6.5 M raw rows). -#}
{% macro newest_raw_rows(raw_table, key_column, incremental) -%}
    select raw_rows.*
    from {{ source('lender', raw_table) }} as raw_rows
    {%- if incremental %}
    inner join ({{ changed_raw_keys(raw_table, key_column) }}) as changed_keys
        on raw_rows.{{ key_column }} = changed_keys.{{ key_column }}
    {%- endif %}
    where {{ is_newest_delivery('raw_rows._file_id') }}
{%- endmacro %}

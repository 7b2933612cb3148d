{#- Incremental strategy `replace_changed_keys`: delete every row of the changed keys (even a key no newest
    delivery lists any more, which delete+insert would keep), then insert the recomputed rows. The model sets
    `unique_key` and `changed_keys_table` / `changed_keys_column` (the raw table and its column for that key),
    and selects its rows with `changed_raw_keys` on the same arguments; both read {{ this }} before it changes. -#}
{% macro get_incremental_replace_changed_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- if config.get('change_log') %}
    {{ log_staged_changes(target, arg_dict['temp_relation'], arg_dict['dest_columns'] | map(attribute='name') | list) }};
    {%- endif %}

    delete from {{ target }}
    where {{ arg_dict['unique_key'] }} in (
        {{ changed_raw_keys(config.require('changed_keys_table'), config.require('changed_keys_column')) }}
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

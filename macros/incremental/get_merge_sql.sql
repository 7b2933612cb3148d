{#- dbt-bigquery builds every `merge` incremental with dbt's `get_merge_sql`. This BigQuery implementation keeps
    dbt's MERGE for the models whose unique_key identifies a row (`incremental_strategy_for('replace_keys')`),
    and runs, as one multi-statement job, what DuckDB's strategy does for the two kinds a MERGE cannot express:
    * a model with `changed_keys_table` (`replace_changed_keys`): log the changed clients, delete every changed
      key (also one the new rows no longer hold), insert the new rows;
    * a model whose unique_key is its partition column (`replace_dates`): delete the rows of the new rows'
      dates (whole day partitions), insert the new rows (dbt's delete+insert). -#}
{% macro bigquery__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- set partition_by = config.get('partition_by') or {} -%}
    {%- if config.get('changed_keys_table') -%}
        {{ get_incremental_replace_changed_keys_sql({
            'target_relation': target, 'temp_relation': source, 'unique_key': unique_key,
            'dest_columns': dest_columns,
        }) }}
    {%- elif unique_key is string and unique_key == partition_by.get('field') -%}
        {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
    {%- else -%}
        {{ default__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
    {%- endif -%}
{%- endmacro %}

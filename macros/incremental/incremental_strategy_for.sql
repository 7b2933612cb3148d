{#- The engine's incremental strategy for one way of replacing rows, so that models name what they do and
    each engine does it with a strategy it supports (dbt-bigquery accepts only merge, insert_overwrite and
    microbatch):
    * `replace_keys`: the new rows replace the rows of the same `unique_key`, which identifies a row
      (DuckDB delete+insert; BigQuery merge);
    * `replace_dates`: the new rows replace every row of their dates; `unique_key` is the date column, which
      `date_partitioning` makes the day partitions on BigQuery (DuckDB delete+insert; BigQuery merge, which
      `bigquery__get_merge_sql` turns into a delete of those dates and an insert: bqemulator cannot run
      dbt-bigquery's insert_overwrite script, `when not matched by source`);
    * `replace_changed_keys`: every row of the keys `changed_raw_keys` gives is replaced, even a key the new
      rows no longer hold (DuckDB the custom strategy of that name; BigQuery merge, which
      `bigquery__get_merge_sql` turns into the same statements for a model with `changed_keys_table`);
    * `append`: the new rows are added (DuckDB append; BigQuery merge without a unique_key, an insert).
    Usage: `config(incremental_strategy={% raw %}incremental_strategy_for('replace_keys'){% endraw %}, ...)`. -#}
{% macro incremental_strategy_for(replacement) -%}
    {{ return(adapter.dispatch('incremental_strategy_for', 'riskmart')(replacement)) }}
{%- endmacro %}

{% macro default__incremental_strategy_for(replacement) -%}
    {{ return({
        'replace_keys': 'delete+insert',
        'replace_dates': 'delete+insert',
        'replace_changed_keys': 'replace_changed_keys',
        'append': 'append',
    }[replacement]) }}
{%- endmacro %}

{% macro bigquery__incremental_strategy_for(replacement) -%}
    {{ return({
        'replace_keys': 'merge',
        'replace_dates': 'merge',
        'replace_changed_keys': 'merge',
        'append': 'merge',
    }[replacement]) }}
{%- endmacro %}

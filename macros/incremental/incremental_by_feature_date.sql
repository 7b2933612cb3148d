{#- The config of the marts that are incremental by feature date (`fct_client_features`, `fct_rule_scores`),
    as the feature families get it from dbt_project.yml and their own config: the rows of (client_id,
    feature_date) replaced (`incremental_strategy_for('replace_keys')`), the spine pruned and the seeds'
    fingerprint recorded after each build; on BigQuery, partitioned by month and clustered by client
    (`date_partitioning`). Usage: `{% raw %}{{ config(**incremental_by_feature_date()) }}{% endraw %}`. -#}
{% macro incremental_by_feature_date() -%}
    {%- set config_dict = {
        'materialized': 'incremental',
        'incremental_strategy': incremental_strategy_for('replace_keys'),
        'unique_key': ['client_id', 'feature_date'],
        'on_schema_change': 'fail',
        'post_hook': ["{{ prune_feature_dates() }}", "{{ record_settings_fingerprint() }}"],
    } -%}
    {%- do config_dict.update(date_partitioning('feature_date', 'month', ['client_id'])) -%}
    {{ return(config_dict) }}
{%- endmacro %}

{#- The config of the marts that are incremental by feature date (`fct_client_features`, `fct_rule_scores`),
    as the feature families get it from dbt_project.yml: delete+insert by (client_id, feature_date), the
    spine pruned and the seeds' fingerprint recorded after each build; on BigQuery, partitioned by month and
    clustered by client. Usage: `{% raw %}{{ config(**incremental_by_feature_date()) }}{% endraw %}`. -#}
{% macro incremental_by_feature_date() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': ['client_id', 'feature_date'],
        'on_schema_change': 'fail',
        'post_hook': ["{{ prune_feature_dates() }}", "{{ record_settings_fingerprint() }}"],
        'partition_by': ({'field': 'feature_date', 'data_type': 'date', 'granularity': 'month'}
            if target.type == 'bigquery' else none),
        'cluster_by': (['client_id'] if target.type == 'bigquery' else none),
    }) }}
{%- endmacro %}

{#- Config of a large table on an engine that partitions: on BigQuery, partitions by `date_column` (`granularity`
    day, month or year) clustered by `cluster_by`, so a daily run and a client lookup read few blocks; nothing on
    DuckDB. A model whose incremental strategy is `replace_dates` needs day partitions (insert_overwrite
    replaces whole partitions). Usage: `{% raw %}{{ config(**date_partitioning('feature_date', 'month', ['client_id'])) }}{% endraw %}`. -#}
{% macro date_partitioning(date_column, granularity, cluster_by=none) -%}
    {{ return(adapter.dispatch('date_partitioning', 'riskmart')(date_column, granularity, cluster_by)) }}
{%- endmacro %}

{% macro default__date_partitioning(date_column, granularity, cluster_by) -%}
    {{ return({}) }}
{%- endmacro %}

{% macro bigquery__date_partitioning(date_column, granularity, cluster_by) -%}
    {%- set partitioning = {'partition_by': {'field': date_column, 'data_type': 'date', 'granularity': granularity}} -%}
    {%- if cluster_by -%}
        {%- do partitioning.update({'cluster_by': cluster_by}) -%}
    {%- endif -%}
    {{ return(partitioning) }}
{%- endmacro %}

{#- The model's memo of what `settings_changed_since_last_build` and `settings_fingerprint` found in this dbt
    invocation, a dict filled on first use. Each feature model asked them up to seven times (the model's SQL
    twice, through client_dates_to_build and feature_dates_to_build, and its post-hooks prune_feature_dates
    and record_settings_fingerprint), each answer a query of the warehouse (a job on BigQuery); the answers
    cannot change in between (seeds build before the models that read them; the model records its settings
    last). Kept in `graph`, the one dict every node's context shares for the invocation (the elementary dbt
    package keeps its run cache there the same way), keyed by the invocation and the model. invoices_to_rebuild
    keeps its rebuild floor there too, for the same reason (its model's SQL and pre-hook must agree). -#}
{% macro build_settings_memo() -%}
    {%- set memos = graph.setdefault('riskmart_build_settings_memo', {}) -%}
    {{ return(memos.setdefault(invocation_id ~ ' ' ~ model.unique_id, {})) }}
{%- endmacro %}

{#- SQL scalar subquery: how far the ingest log had got at this model's last build (a timestamp), for
    `feature_dates_to_build`; only called after `settings_changed_since_last_build()` said false. Read in SQL
    rather than rendered as a literal: bqemulator mangles some timestamp literals (`'...24.877753'` became
    `'...24.877753e0'` in a model's query), and the value is the same. -#}
{% macro ingested_through_last_build() -%}
    {%- set relation = build_settings_relation() -%}
    {{ return(
        "(select recorded.ingested_through from " ~ relation ~ " as recorded"
        ~ " where recorded.model_name = '" ~ model.unique_id ~ "' order by recorded.recorded_at desc limit 1)"
    ) }}
{%- endmacro %}

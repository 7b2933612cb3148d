{#- SQL literal of how far the ingest log had got at this model's last build (a timestamp), for
    `feature_dates_to_build`; only called after `settings_changed_since_last_build()` said false. -#}
{% macro ingested_through_last_build() -%}
    {{ return("cast('" ~ last_build_settings().ingested_through ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{#- Pre-hook of the models with a `change_log`: a build that is not incremental (the first, or
    --full-refresh) cannot say what changed, so it logs one entry without a client, which makes every
    feature model rebuild every date once. Renders nothing on incremental runs. -#}
{% macro log_full_restage() -%}
    {%- if not is_incremental() -%}
    insert into {{ staged_changes_relation() }} (model_name, client_id, first_affected_date, ingested_through)
    select '{{ model.unique_id }}', null, null, ({{ staging_ingest_watermark() }})
    {%- endif -%}
{%- endmacro %}

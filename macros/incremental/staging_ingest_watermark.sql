{#- The newest loaded delivery's finished_at: how far the ingest log had got when this staging build ran. -#}
{% macro staging_ingest_watermark() -%}
    select max(deliveries.finished_at)
    from {{ source('ingest', 'ingest_log') }} as deliveries
    where deliveries.status in ('loaded', 'loaded_with_rejects')
{%- endmacro %}

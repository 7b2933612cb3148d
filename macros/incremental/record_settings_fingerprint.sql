{#- What an incremental feature model must know of its last build to rebuild exactly the dates that may
    have changed since: after each build it records (1) a fingerprint of the content of every seed upstream
    of it, because a seed the risk team edits (the timeliness curve, the feature parameters, the rule
    weights) changes every date, so a new fingerprint means rebuild every date; and (2) how far the
    ingest log had got (`ingested_through`, the newest delivery's finished_at), so the next run rebuilds
    the dates the deliveries loaded since can change (`int_delivery_impact`). The table stays equal to a
    full refresh, with no --full-refresh to remember. -#}

{#- Post-hook of the incremental feature models: record the fingerprint and the ingest watermark this build
    used. An insert only (the newest row per model counts, `last_build_settings`): many models run this hook
    at once on several threads, and concurrent inserts never conflict on BigQuery, where concurrent deletes
    of one table can. The on-run-start hook drops the superseded rows. -#}
{% macro record_settings_fingerprint() -%}
    {%- set relation = build_settings_relation() -%}
    {%- set fingerprint = settings_fingerprint() if execute else '' -%}
    insert into {{ relation }} (model_name, settings_fingerprint, recorded_at, ingested_through)
    select
        '{{ model.unique_id }}', '{{ fingerprint }}', {{ dbt.current_timestamp() }}, max(impact.finished_at)
    from {{ ref('int_delivery_impact') }} as impact
{%- endmacro %}

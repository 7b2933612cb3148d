{#- The feature dates an incremental feature model computes for every client in this run: every date of the
    spine on a full build; on an incremental build the dates it does not hold yet, plus every date on or
    after the first date a snapshot-like delivery loaded since its last build can change
    (`int_delivery_impact`: a client, utilization or plan export's date, a bureau report's fecha_consulta),
    and every date when a staging model was rebuilt whole since then (`log_full_restage`). Every date is
    built again when a seed upstream changed since the last build (`settings_changed_since_last_build`).
    Events (payments, orders) change single clients: `client_dates_to_build` adds those. Pass
    `is_incremental()` from the model, so that unit tests can override it. -#}
{% macro feature_dates_to_build(incremental) -%}
    {#- called unconditionally, so that dbt records the dependencies at parse time -#}
    {%- set delivery_impact = ref('int_delivery_impact') -%}
    {%- set staged_changes = ref('stg_riskmart_meta__staged_changes') -%}
    select feature_dates.feature_date
    from {{ ref('int_feature_dates') }} as feature_dates
    {%- if incremental and not settings_changed_since_last_build() %}
    {%- set watermark = ingested_through_last_build() %}
    where
        feature_dates.feature_date not in (select built.feature_date from {{ this }} as built)
        or feature_dates.feature_date >= (
            select min(impact.first_affected_date)
            from {{ delivery_impact }} as impact
            where impact.finished_at > {{ watermark }}
        )
        or exists (
            select 1
            from {{ staged_changes }} as restaged
            where restaged.client_id is null and restaged.ingested_through > {{ watermark }}
        )
    {%- endif %}
{%- endmacro %}

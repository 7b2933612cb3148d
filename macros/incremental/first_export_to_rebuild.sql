{#- SQL date: the first export an incremental model keyed by export date recomputes in this run (e.g.
    `int_client_credit_limit_changes`): the earliest export date of the `table_name` deliveries loaded since
    its last build (`int_delivery_impact`; 9999-12-31 when there is none), or 1900-01-01 (every export) on a
    full build, after a seed edit upstream, or when no build was recorded. The model records its watermark
    with the `record_settings_fingerprint` post-hook. -#}
{% macro first_export_to_rebuild(table_name) -%}
    {#- called unconditionally, so that dbt records the dependency at parse time -#}
    {%- set delivery_impact = ref('int_delivery_impact') -%}
    {%- if is_incremental() and not settings_changed_since_last_build() -%}
        coalesce(
            (
                select min(impact.first_affected_date)
                from {{ delivery_impact }} as impact
                where impact.table_name = '{{ table_name }}' and impact.finished_at > {{ ingested_through_last_build() }}
            ),
            cast('9999-12-31' as date)
        )
    {%- else -%}
        cast('1900-01-01' as date)
    {%- endif -%}
{%- endmacro %}

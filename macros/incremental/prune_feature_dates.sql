{#- Post-hook of the incremental feature models: drop the rows that left the spine, so an incremental table
    always holds exactly what a full refresh would build: a daily date older than `daily_feature_days`, a
    date after a smaller as_of_date, and (in the models keyed by client and date) a client the rebuilt spine
    no longer has at that date, e.g. closed in a corrected snapshot. The spine is rebuilt by whole dates,
    those of `feature_dates_to_build`, so only those dates are compared with it (evaluated again here, the
    same dates: the watermark is recorded after this hook; the new dates are complete by construction). -#}
{% macro prune_feature_dates() -%}
    delete from {{ this }} as built
    where
        built.feature_date not in (select feature_dates.feature_date from {{ ref('int_feature_dates') }} as feature_dates)
        {%- if model.name != 'int_client_feature_dates' %}
        or (
            built.feature_date in ({{ feature_dates_to_build(is_incremental()) }})
            and not exists (
                select 1
                from {{ ref('int_client_feature_dates') }} as spine
                where spine.client_id = built.client_id and spine.feature_date = built.feature_date
            )
        )
        {%- endif %}
{%- endmacro %}

{#- Post-hook of the incremental performance marts (`mon_model_performance`, `mon_model_calibration`): drop the
    cohorts that no longer have a matured score date between `start_column` and `end_column` (their scores or
    labels withdrawn), which an incremental build, replacing only the cohorts it computes, would keep. -#}
{% macro delete_vanished_cohorts(start_column, end_column) -%}
    delete from {{ this }} as built
    where not exists (
        select 1
        from (
            select distinct matured.score_date
            from {{ ref('int_mon_matured_scores') }} as matured
        ) as matured_dates
        where matured_dates.score_date between built.{{ start_column }} and built.{{ end_column }}
    )
{%- endmacro %}

-- rebuilt every run from the monitoring marts (small): one row per breached threshold
-- a quote inside a text literal is escaped by dbt.escape_single_quotes: doubled on DuckDB, `\'` on BigQuery
-- (where '' is no escape: the emulator read 'day''s' as the two literals 'day' 's')
with

feature_alerts as (

    select
        feature_date as alert_date,
        'feature_drift' as alert_type,
        feature as subject,
        'warning' as severity,
        'status_psi' as metric,
        status_psi as metric_value,
        {{ monitoring_parameter('psi_alert') }} as threshold,
        model_version,
        'PSI of ' || feature || ' ' || status_reason || ' above the alert threshold' as message,
        'investigate data quality and the population behind the feature; retrain if the change is lasting'
            as recommended_action
    from {{ ref('mon_feature_drift') }}
    where status = 'alert'

),

score_alerts as (

    select
        score_date as alert_date,
        'score_drift' as alert_type,
        score_variable as subject,
        'critical' as severity,
        'psi' as metric,
        psi as metric_value,
        {{ monitoring_parameter('psi_alert') }} as threshold,
        model_version,
        '{{ dbt.escape_single_quotes("PSI of the champion's ") }}' || score_variable
        || ' against its training baseline above the alert threshold' as message,
        'investigate which features moved (mon_feature_drift); retrain if the population changed for good'
            as recommended_action
    from {{ ref('mon_score_drift') }}
    where status = 'alert'

),

-- cohorts large enough to judge, known on the day their label window closes
judged_cohorts as (

    select
        performance.*,
        {{ dbt.dateadd('day', var('default_window_days'), 'performance.cohort_start') }} as matured_on
    from {{ ref('mon_model_performance') }} as performance
    where
        performance.cohort_grain = 'score_date'
        and performance.scorer = 'model'
        and performance.default_count >= {{ monitoring_parameter('performance_min_defaults') }}

),

gini_alerts as (

    select
        matured_on as alert_date,
        'gini_drop' as alert_type,
        'model' as subject,
        'critical' as severity,
        'gini_drop' as metric,
        gini_drop as metric_value,
        {{ monitoring_parameter('gini_drop_alert') }} as threshold,
        model_version,
        '{{ dbt.escape_single_quotes("the model's Gini on the clients scored ") }}'
        || cast(cohort_start as {{ dbt.type_string() }})
        || ' is more than the margin below its Gini on the test dates' as message,
        'retrain the model on recent data; compare with the rule score in mon_model_performance'
            as recommended_action
    from judged_cohorts
    where gini_drop > {{ monitoring_parameter('gini_drop_alert') }}

),

calibration_alerts as (

    select
        matured_on as alert_date,
        'calibration' as alert_type,
        'model' as subject,
        'warning' as severity,
        'calibration_ratio' as metric,
        calibration_ratio as metric_value,
        {{ monitoring_parameter('calibration_ratio_alert') }} as threshold,
        model_version,
        'observed default rate of the clients scored ' || cast(cohort_start as {{ dbt.type_string() }})
        || ' is off the mean predicted probability by more than the allowed ratio' as message,
        'recalibrate the model (calibration per decile in mon_model_calibration); retrain if it persists'
            as recommended_action
    from judged_cohorts
    where
        calibration_ratio > {{ monitoring_parameter('calibration_ratio_alert') }}
        or calibration_ratio < 1.0 / {{ monitoring_parameter('calibration_ratio_alert') }}

),

-- loaded rows per table and export date, against the median of the table's trailing days
daily_volumes as (

    select
        table_name,
        export_date,
        sum(rows_loaded) as rows_loaded
    from {{ ref('stg_ingest__deliveries') }}
    where export_date is not null and table_name is not null
    group by table_name, export_date

),

trailing_volumes as (

    select
        today.table_name,
        today.export_date,
        today.rows_loaded,
        earlier.rows_loaded as trailing_rows,
        row_number() over (
            partition by today.table_name, today.export_date order by earlier.rows_loaded, earlier.export_date
        ) as row_position,
        count(*) over (partition by today.table_name, today.export_date) as trailing_days
    from daily_volumes as today
    inner join daily_volumes as earlier
        on
            today.table_name = earlier.table_name
            and today.export_date > earlier.export_date
            and earlier.export_date >= {{ dbt.dateadd(
                'day', '-1 * ' ~ monitoring_parameter('volume_trailing_days'), 'today.export_date'
            ) }}

),

-- the median: the middle row, or the mean of the two middle rows
trailing_medians as (

    select
        table_name,
        export_date,
        max(rows_loaded) as rows_loaded,
        max(trailing_days) as trailing_days,
        avg(trailing_rows) as trailing_median
    from trailing_volumes
    where
        row_position in (
            cast(floor((trailing_days + 1) / 2.0) as {{ dbt.type_int() }}),
            cast(ceil((trailing_days + 1) / 2.0) as {{ dbt.type_int() }})
        )
    group by table_name, export_date

),

volume_alerts as (

    select
        export_date as alert_date,
        'data_volume' as alert_type,
        table_name as subject,
        'warning' as severity,
        'loaded_rows_to_trailing_median' as metric,
        cast(rows_loaded as {{ type_double() }}) / trailing_median as metric_value,
        {{ monitoring_parameter('volume_ratio_alert') }} as threshold,
        cast(null as {{ dbt.type_string() }}) as model_version,
        cast(rows_loaded as {{ dbt.type_string() }}) || ' rows of ' || table_name
        || ' loaded against a trailing median of ' || {{ fixed_decimals_text('trailing_median', 1) }}
            as message,
        '{{ dbt.escape_single_quotes(
            "investigate the day's delivery (missing, duplicated or partial files) before trusting its scores"
        ) }}'
            as recommended_action
    from trailing_medians
    where
        trailing_days * 2 >= {{ monitoring_parameter('volume_trailing_days') }}
        and trailing_median >= {{ monitoring_parameter('volume_min_rows') }}
        and (
            rows_loaded > trailing_median * {{ monitoring_parameter('volume_ratio_alert') }}
            or rows_loaded < trailing_median / {{ monitoring_parameter('volume_ratio_alert') }}
        )

),

alerts as (

    select * from feature_alerts
    union all
    select * from score_alerts
    union all
    select * from gini_alerts
    union all
    select * from calibration_alerts
    union all
    select * from volume_alerts

)

select
    -- keys
    cast(alert_date as date) as alert_date,
    cast(alert_type as {{ dbt.type_string() }}) as alert_type,
    cast(subject as {{ dbt.type_string() }}) as subject,

    -- what was breached
    cast(severity as {{ dbt.type_string() }}) as severity,
    cast(metric as {{ dbt.type_string() }}) as metric,
    cast(metric_value as {{ type_double() }}) as metric_value,
    cast(threshold as {{ type_double() }}) as threshold,
    cast(model_version as {{ dbt.type_string() }}) as model_version,

    -- what to do
    cast(message as {{ dbt.type_string() }}) as message,
    cast(recommended_action as {{ dbt.type_string() }}) as recommended_action

from alerts

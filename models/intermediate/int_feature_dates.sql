with

client_exports as (

    select export_date
    from {{ ref('stg_lender__clients') }}
    where export_date <= {{ latest_data_date() }}

),

bounds as (

    select
        min(export_date) as history_start_date,
        {{ latest_data_date() }} as as_of_date
    from client_exports

),

days as (

    {{ date_series('bounds', 'history_start_date', 'as_of_date', 'feature_date') }}

),

flagged as (

    select
        days.feature_date,
        days.feature_date = {{ dbt.last_day('days.feature_date', 'month') }} as is_month_end,
        days.feature_date > {{ add_days('bounds.as_of_date', -daily_feature_days()) }} as is_daily,
        bounds.as_of_date
    from days
    cross join bounds

)

select
    feature_date,
    is_month_end,
    is_daily,
    as_of_date
from flagged
-- month ends for training history, every day of the latest `daily_feature_days` days for the daily score
where is_month_end or is_daily

-- what a feature judged month over month is compared with: the end of the calendar month before the date's
with

feature_dates as (

    select distinct
        feature_date,
        is_month_end
    from {{ ref('fct_client_features') }}

),

month_ends as (

    select feature_date
    from feature_dates
    where is_month_end

)

select
    -- keys
    feature_dates.feature_date,

    -- the reference date
    max(month_ends.feature_date) as previous_month_end

from feature_dates
inner join month_ends
    on month_ends.feature_date < {{ dbt.date_trunc('month', 'feature_dates.feature_date') }}
group by feature_dates.feature_date

{{
    config(
        incremental_strategy=incremental_strategy_for('replace_keys'),
        **date_partitioning('feature_date', 'month', ['client_id'])
    )
}}

with

to_build as (

    {{ client_dates_to_build(is_incremental()) }}

),

client_dates as (

    select
        spine.client_id,
        spine.feature_date,
        spine.credit_limit,
        spine.outstanding,
        -- the current month and the five (or two) before it
        cast(
            {{ dbt.dateadd('month', -5, dbt.date_trunc('month', 'spine.feature_date')) }} as date
        ) as window_start_6m,
        cast(
            {{ dbt.dateadd('month', -2, dbt.date_trunc('month', 'spine.feature_date')) }} as date
        ) as window_start_3m
    from {{ ref('int_client_feature_dates') }} as spine
    inner join to_build
        on spine.client_id = to_build.client_id and spine.feature_date = to_build.feature_date

),

-- only the months some date of this run can see: an incremental run reads the latest months, not all
window_bounds as (

    select
        min(window_start_6m) as first_month,
        max(feature_date) as last_date
    from client_dates

),

month_deliveries as (

    select
        deliveries.utilization_id,
        deliveries.client_id,
        deliveries.month,
        deliveries.export_date,
        deliveries.utilization_pct
    from {{ ref('stg_lender__utilization_months') }} as deliveries
    inner join window_bounds
        on
            deliveries.month >= window_bounds.first_month
            and deliveries.export_date <= window_bounds.last_date

),

month_rows as (

    select
        utilization_id,
        client_id,
        min(export_date) as first_export_date,
        min(month) as first_month,
        max(month) as last_month
    from month_deliveries
    group by utilization_id, client_id

),

-- the month rows a date can see: delivered by then, and within its six-month window
candidates as (

    select
        month_rows.utilization_id,
        client_dates.feature_date
    from client_dates
    inner join month_rows
        on
            client_dates.client_id = month_rows.client_id
            and client_dates.feature_date >= month_rows.first_export_date
            and client_dates.window_start_6m <= month_rows.last_month
            and client_dates.feature_date >= month_rows.first_month

),

-- each month row as restated in its newest delivery exported on or before the date
months_known as (

    {{ as_of_join(
        'candidates', 'month_deliveries', ['utilization_id'], 'feature_date', 'export_date',
        ['client_id', 'month', 'utilization_pct'], left=false
    ) }}

),

utilization as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        avg(
            case when months_known.month >= client_dates.window_start_3m then months_known.utilization_pct end
        ) / 100.0 as utilization_ratio_avg_3m,
        max(
            case when months_known.month >= client_dates.window_start_3m then months_known.utilization_pct end
        ) / 100.0 as utilization_ratio_max_3m,
        avg(months_known.utilization_pct) / 100.0 as utilization_ratio_avg_6m,
        max(months_known.utilization_pct) / 100.0 as utilization_ratio_max_6m,
        count(
            case
                when months_known.utilization_pct / 100.0
                    >= {{ feature_parameter('near_limit_utilization_ratio') }}
                    then 1
            end
        ) as months_near_limit_6m,
        count(
            case
                when months_known.utilization_pct / 100.0
                    > {{ feature_parameter('over_limit_utilization_ratio') }}
                    then 1
            end
        ) as months_over_limit_6m
    from client_dates
    inner join months_known
        on
            client_dates.client_id = months_known.client_id
            and client_dates.feature_date = months_known.feature_date
            and client_dates.window_start_6m <= months_known.month
            and client_dates.feature_date >= months_known.month
    group by client_dates.client_id, client_dates.feature_date

),

limit_changes as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        count(*) as credit_limit_changes_6m,
        sum(changes.credit_limit - changes.previous_credit_limit) as credit_limit_net_change_6m
    from client_dates
    inner join {{ ref('int_client_credit_limit_changes') }} as changes
        on
            client_dates.client_id = changes.client_id
            and client_dates.feature_date >= changes.export_date
            and {{ add_days('client_dates.feature_date', -180) }} < changes.export_date
    group by client_dates.client_id, client_dates.feature_date

)

-- money rounded to cents, ratios to 6 decimals: a float sum's last bits follow the engine's execution
-- order, and features must be reproducible bit for bit
select
    client_dates.client_id,
    client_dates.feature_date,
    round(client_dates.credit_limit, 2) as credit_limit,
    round(client_dates.outstanding, 2) as outstanding,
    round(client_dates.outstanding / nullif(client_dates.credit_limit, 0), 6) as utilization_ratio_now,
    coalesce(
        round(utilization.utilization_ratio_avg_3m, 6),
        {{ no_history_value('utilization_ratio_avg_3m') }}
    ) as utilization_ratio_avg_3m,
    coalesce(
        round(utilization.utilization_ratio_max_3m, 6),
        {{ no_history_value('utilization_ratio_max_3m') }}
    ) as utilization_ratio_max_3m,
    coalesce(
        round(utilization.utilization_ratio_avg_6m, 6),
        {{ no_history_value('utilization_ratio_avg_6m') }}
    ) as utilization_ratio_avg_6m,
    coalesce(
        round(utilization.utilization_ratio_max_6m, 6),
        {{ no_history_value('utilization_ratio_max_6m') }}
    ) as utilization_ratio_max_6m,
    coalesce(
        utilization.months_near_limit_6m,
        {{ no_history_value('months_near_limit_6m') }}
    ) as months_near_limit_6m,
    coalesce(
        utilization.months_over_limit_6m,
        {{ no_history_value('months_over_limit_6m') }}
    ) as months_over_limit_6m,
    coalesce(
        limit_changes.credit_limit_changes_6m,
        {{ no_history_value('credit_limit_changes_6m') }}
    ) as credit_limit_changes_6m,
    round(
        coalesce(
            limit_changes.credit_limit_net_change_6m,
            {{ no_history_value('credit_limit_net_change_6m') }}
        ),
        2
    ) as credit_limit_net_change_6m
from client_dates
left join utilization
    on
        client_dates.client_id = utilization.client_id
        and client_dates.feature_date = utilization.feature_date
left join limit_changes
    on
        client_dates.client_id = limit_changes.client_id
        and client_dates.feature_date = limit_changes.feature_date

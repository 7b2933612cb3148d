{{
    config(
        incremental_strategy=incremental_strategy_for('replace_keys'),
        **date_partitioning('feature_date', 'month', ['client_id'])
    )
}}

with

-- the clients of the spine at the feature dates this run builds
client_dates as (

    {{ client_dates_to_build(is_incremental()) }}

),

-- every order placed on or before the feature date, with its age on that date
orders_known as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        orders.order_status,
        case when coalesce(orders.order_status, '') != 'cancelled' then orders.order_value else 0 end
            as billed_value,
        {{ days_between('orders.order_date', 'client_dates.feature_date') }} as age_days
    from client_dates
    inner join {{ ref('stg_lender__orders') }} as orders
        on
            client_dates.client_id = orders.client_id
            and client_dates.feature_date >= orders.order_date

),

aggregated as (

    select
        client_id,
        feature_date,
        count(case when age_days < 30 then 1 end) as order_count_30d,
        count(case when age_days < 90 then 1 end) as order_count_90d,
        sum(case when age_days < 30 then billed_value else 0 end) as order_value_30d,
        sum(case when age_days < 90 then billed_value else 0 end) as order_value_90d,
        sum(case when age_days >= 30 and age_days < 120 then billed_value else 0 end)
            as order_value_prior_90d,
        count(case when age_days < 180 then 1 end) as order_count_180d,
        sum(case when age_days < 180 and order_status = 'cancelled' then 1.0 else 0.0 end)
            as cancelled_count_180d,
        sum(case when age_days < 180 and order_status = 'returned' then 1.0 else 0.0 end)
            as returned_count_180d,
        min(age_days) as days_since_last_order
    from orders_known
    group by client_id, feature_date

)

-- money rounded to cents, ratios to 6 decimals: a float sum's last bits follow the engine's execution
-- order, and features must be reproducible bit for bit
select
    client_dates.client_id,
    client_dates.feature_date,
    coalesce(aggregated.order_count_30d, {{ no_history_value('order_count_30d') }}) as order_count_30d,
    coalesce(aggregated.order_count_90d, {{ no_history_value('order_count_90d') }}) as order_count_90d,
    round(
        coalesce(
            aggregated.order_value_30d,
            {{ no_history_value('order_value_30d') }}
        ),
        2
    ) as order_value_30d,
    round(
        coalesce(
            aggregated.order_value_90d,
            {{ no_history_value('order_value_90d') }}
        ),
        2
    ) as order_value_90d,
    -- last 30 days against the monthly average of the 90 days before them; NULL without that history
    coalesce(
        round(aggregated.order_value_30d / nullif(aggregated.order_value_prior_90d / 3.0, 0), 6),
        {{ no_history_value('order_value_trend') }}
    ) as order_value_trend,
    coalesce(
        round(aggregated.cancelled_count_180d / nullif(aggregated.order_count_180d, 0), 6),
        {{ no_history_value('cancelled_order_share_180d') }}
    ) as cancelled_order_share_180d,
    coalesce(
        round(aggregated.returned_count_180d / nullif(aggregated.order_count_180d, 0), 6),
        {{ no_history_value('returned_order_share_180d') }}
    ) as returned_order_share_180d,
    coalesce(
        aggregated.days_since_last_order,
        {{ no_history_value('days_since_last_order') }}
    ) as days_since_last_order
from client_dates
left join aggregated
    on
        client_dates.client_id = aggregated.client_id
        and client_dates.feature_date = aggregated.feature_date

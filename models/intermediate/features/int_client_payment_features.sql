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

-- every payment made on or before the feature date, with its age on that date
payments_known as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        payments.payment_amount,
        payments.days_past_due,
        cast(payments.days_past_due as {{ type_double() }}) as days_past_due_value,
        payments.timeliness_points,
        {{ days_between('payments.payment_date', 'client_dates.feature_date') }} as age_days
    from client_dates
    inner join {{ ref('int_payments_scored') }} as payments
        on
            client_dates.client_id = payments.client_id
            and client_dates.feature_date >= payments.payment_date

),

aggregated as (

    select
        client_id,
        feature_date,

        -- recency-weighted timeliness
        {{ recency_weighted_score('timeliness_points', 'age_days', 30) }}
            as recency_weighted_payment_score_30d,
        {{ recency_weighted_score('timeliness_points', 'age_days', 90) }}
            as recency_weighted_payment_score_90d,
        {{ recency_weighted_score('timeliness_points', 'age_days', 180) }}
            as recency_weighted_payment_score_180d,

        -- volume (windows end on the feature date: age 0 is the feature date itself)
        count(*) as payment_count_total,
        count(case when age_days < 30 then 1 end) as payment_count_30d,
        count(case when age_days < 90 then 1 end) as payment_count_90d,
        count(case when age_days < 180 then 1 end) as payment_count_180d,
        sum(case when age_days < 30 then payment_amount else 0 end) as payment_amount_30d,
        sum(case when age_days < 90 then payment_amount else 0 end) as payment_amount_90d,
        sum(case when age_days < 180 then payment_amount else 0 end) as payment_amount_180d,

        -- lateness over 6 months (180 days)
        avg(case when age_days < 180 then days_past_due_value end) as mean_days_past_due_6m,
        max(case when age_days < 180 then days_past_due end) as max_days_past_due_6m,
        stddev_samp(case when age_days < 180 then days_past_due_value end) as stddev_days_past_due_6m,
        avg(case when age_days < 180 then case when days_past_due > 0 then 1.0 else 0.0 end end)
            as share_paid_late_6m,
        avg(case when age_days < 180 then case when days_past_due >= 30 then 1.0 else 0.0 end end)
            as share_paid_30_plus_late_6m,
        avg(case when age_days < 30 then days_past_due_value end) as mean_days_past_due_30d,

        -- recency
        min(age_days) as days_since_last_payment

    from payments_known
    group by client_id, feature_date

)

-- money rounded to cents, ratios to 6 decimals: a float sum's last bits follow the engine's execution
-- order, and features must be reproducible bit for bit
select
    client_dates.client_id,
    client_dates.feature_date,
    coalesce(
        round(aggregated.recency_weighted_payment_score_30d, 6),
        {{ no_history_value('recency_weighted_payment_score_30d') }}
    ) as recency_weighted_payment_score_30d,
    coalesce(
        round(aggregated.recency_weighted_payment_score_90d, 6),
        {{ no_history_value('recency_weighted_payment_score_90d') }}
    ) as recency_weighted_payment_score_90d,
    coalesce(
        round(aggregated.recency_weighted_payment_score_180d, 6),
        {{ no_history_value('recency_weighted_payment_score_180d') }}
    ) as recency_weighted_payment_score_180d,
    coalesce(
        aggregated.payment_count_total,
        {{ no_history_value('payment_count_total') }}
    ) as payment_count_total,
    coalesce(aggregated.payment_count_30d, {{ no_history_value('payment_count_30d') }}) as payment_count_30d,
    coalesce(aggregated.payment_count_90d, {{ no_history_value('payment_count_90d') }}) as payment_count_90d,
    coalesce(
        aggregated.payment_count_180d,
        {{ no_history_value('payment_count_180d') }}
    ) as payment_count_180d,
    round(
        coalesce(
            aggregated.payment_amount_30d,
            {{ no_history_value('payment_amount_30d') }}
        ),
        2
    ) as payment_amount_30d,
    round(
        coalesce(
            aggregated.payment_amount_90d,
            {{ no_history_value('payment_amount_90d') }}
        ),
        2
    ) as payment_amount_90d,
    round(
        coalesce(
            aggregated.payment_amount_180d,
            {{ no_history_value('payment_amount_180d') }}
        ),
        2
    ) as payment_amount_180d,
    coalesce(
        round(aggregated.mean_days_past_due_6m, 6),
        {{ no_history_value('mean_days_past_due_6m') }}
    ) as mean_days_past_due_6m,
    coalesce(
        aggregated.max_days_past_due_6m,
        {{ no_history_value('max_days_past_due_6m') }}
    ) as max_days_past_due_6m,
    coalesce(
        round(aggregated.stddev_days_past_due_6m, 6),
        {{ no_history_value('stddev_days_past_due_6m') }}
    ) as stddev_days_past_due_6m,
    coalesce(
        round(aggregated.share_paid_late_6m, 6),
        {{ no_history_value('share_paid_late_6m') }}
    ) as share_paid_late_6m,
    coalesce(
        round(aggregated.share_paid_30_plus_late_6m, 6),
        {{ no_history_value('share_paid_30_plus_late_6m') }}
    ) as share_paid_30_plus_late_6m,
    -- deterioration velocity: positive when the last month was later than the 6-month norm
    coalesce(
        round(aggregated.mean_days_past_due_30d - aggregated.mean_days_past_due_6m, 6),
        {{ no_history_value('days_past_due_velocity') }}
    ) as days_past_due_velocity,
    coalesce(
        aggregated.days_since_last_payment,
        {{ no_history_value('days_since_last_payment') }}
    ) as days_since_last_payment
from client_dates
left join aggregated
    on
        client_dates.client_id = aggregated.client_id
        and client_dates.feature_date = aggregated.feature_date

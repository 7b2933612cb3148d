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
    round(aggregated.recency_weighted_payment_score_30d, 6) as recency_weighted_payment_score_30d,
    round(aggregated.recency_weighted_payment_score_90d, 6) as recency_weighted_payment_score_90d,
    round(aggregated.recency_weighted_payment_score_180d, 6) as recency_weighted_payment_score_180d,
    coalesce(aggregated.payment_count_total, 0) as payment_count_total,
    coalesce(aggregated.payment_count_30d, 0) as payment_count_30d,
    coalesce(aggregated.payment_count_90d, 0) as payment_count_90d,
    coalesce(aggregated.payment_count_180d, 0) as payment_count_180d,
    round(coalesce(aggregated.payment_amount_30d, 0), 2) as payment_amount_30d,
    round(coalesce(aggregated.payment_amount_90d, 0), 2) as payment_amount_90d,
    round(coalesce(aggregated.payment_amount_180d, 0), 2) as payment_amount_180d,
    round(aggregated.mean_days_past_due_6m, 6) as mean_days_past_due_6m,
    aggregated.max_days_past_due_6m,
    round(aggregated.stddev_days_past_due_6m, 6) as stddev_days_past_due_6m,
    round(aggregated.share_paid_late_6m, 6) as share_paid_late_6m,
    round(aggregated.share_paid_30_plus_late_6m, 6) as share_paid_30_plus_late_6m,
    -- deterioration velocity: positive when the last month was later than the 6-month norm
    round(aggregated.mean_days_past_due_30d - aggregated.mean_days_past_due_6m, 6) as days_past_due_velocity,
    aggregated.days_since_last_payment
from client_dates
left join aggregated
    on
        client_dates.client_id = aggregated.client_id
        and client_dates.feature_date = aggregated.feature_date

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

-- invoices issued on or before the date and not yet fully paid on it
open_invoices as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        invoices.invoice_id,
        invoices.invoice_amount,
        {{ days_between('invoices.due_date', 'client_dates.feature_date') }} as days_past_due
    from client_dates
    inner join {{ ref('int_invoices') }} as invoices
        on
            client_dates.client_id = invoices.client_id
            and client_dates.feature_date >= invoices.order_date
            and (invoices.fully_paid_date is null or client_dates.feature_date < invoices.fully_paid_date)

),

-- what was paid on each open invoice by the date, from payments dated on or before it only
paid_by_date as (

    select
        open_invoices.feature_date,
        open_invoices.invoice_id,
        sum(payments.payment_amount) as paid_amount
    from open_invoices
    inner join {{ ref('int_payments_scored') }} as payments
        on
            open_invoices.invoice_id = payments.invoice_id
            and open_invoices.feature_date >= payments.payment_date
    group by open_invoices.feature_date, open_invoices.invoice_id

),

outstanding as (

    select
        open_invoices.client_id,
        open_invoices.feature_date,
        open_invoices.days_past_due,
        greatest(
            open_invoices.invoice_amount - coalesce(paid_by_date.paid_amount, 0), 0
        ) as outstanding_amount
    from open_invoices
    left join paid_by_date
        on
            open_invoices.invoice_id = paid_by_date.invoice_id
            and open_invoices.feature_date = paid_by_date.feature_date

),

aggregated as (

    select
        client_id,
        feature_date,
        count(*) as open_invoice_count,
        sum(outstanding_amount) as open_invoice_amount,
        count(case when days_past_due > 0 then 1 end) as overdue_invoice_count,
        sum(case when days_past_due > 0 then outstanding_amount else 0 end) as overdue_amount,
        sum(case when days_past_due between 1 and 30 then outstanding_amount else 0 end)
            as overdue_amount_1_30_days,
        sum(
            case
                when days_past_due between 31 and {{ var('default_days_past_due') - 1 }}
                    then outstanding_amount
                else 0
            end
        ) as overdue_amount_31_59_days,
        -- 60+ starts at the contract's default threshold, so this bucket is exactly the defaulted debt
        sum(case when days_past_due >= {{ var('default_days_past_due') }} then outstanding_amount else 0 end)
            as overdue_amount_60_plus_days,
        count(case when days_past_due >= {{ var('default_days_past_due') }} then 1 end)
            as invoices_60_plus_days_past_due,
        max(case when days_past_due > 0 then days_past_due end) as oldest_overdue_days
    from outstanding
    group by client_id, feature_date

)

-- money rounded to cents, ratios to 6 decimals: a float sum's last bits follow the engine's execution
-- order, and features must be reproducible bit for bit
select
    client_dates.client_id,
    client_dates.feature_date,
    coalesce(
        aggregated.open_invoice_count,
        {{ no_history_value('open_invoice_count') }}
    ) as open_invoice_count,
    round(
        coalesce(
            aggregated.open_invoice_amount,
            {{ no_history_value('open_invoice_amount') }}
        ),
        2
    ) as open_invoice_amount,
    coalesce(
        aggregated.overdue_invoice_count,
        {{ no_history_value('overdue_invoice_count') }}
    ) as overdue_invoice_count,
    round(coalesce(aggregated.overdue_amount, {{ no_history_value('overdue_amount') }}), 2) as overdue_amount,
    round(
        coalesce(aggregated.overdue_amount_1_30_days, {{ no_history_value('overdue_amount_1_30_days') }}),
        2
    ) as overdue_amount_1_30_days,
    round(
        coalesce(aggregated.overdue_amount_31_59_days, {{ no_history_value('overdue_amount_31_59_days') }}),
        2
    ) as overdue_amount_31_59_days,
    round(
        coalesce(
            aggregated.overdue_amount_60_plus_days,
            {{ no_history_value('overdue_amount_60_plus_days') }}
        ),
        2
    ) as overdue_amount_60_plus_days,
    coalesce(
        aggregated.invoices_60_plus_days_past_due,
        {{ no_history_value('invoices_60_plus_days_past_due') }}
    ) as invoices_60_plus_days_past_due,
    -- nothing overdue is a known 0, not a missing value
    coalesce(
        aggregated.oldest_overdue_days,
        {{ no_history_value('oldest_overdue_days') }}
    ) as oldest_overdue_days
from client_dates
left join aggregated
    on
        client_dates.client_id = aggregated.client_id
        and client_dates.feature_date = aggregated.feature_date

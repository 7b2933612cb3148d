{{ config(**incremental_by_feature_date()) }}

with

-- the clients and dates this run builds: every client at the new dates, the changed clients at earlier ones
to_build as (

    {{ client_dates_to_build(is_incremental()) }}

),

client_dates as (

    select client_spine.*
    from {{ ref('int_client_feature_dates') }} as client_spine
    inner join to_build
        on
            client_spine.client_id = to_build.client_id
            and client_spine.feature_date = to_build.feature_date

),

spine as (

    select
        spine_dates.feature_date,
        spine_dates.is_month_end
    from {{ ref('int_feature_dates') }} as spine_dates
    where spine_dates.feature_date in (select to_build.feature_date from to_build)

),

payments as (

    select payment_features.*
    from {{ ref('int_client_payment_features') }} as payment_features
    inner join to_build
        on
            payment_features.client_id = to_build.client_id
            and payment_features.feature_date = to_build.feature_date

),

invoices as (

    select invoice_features.*
    from {{ ref('int_client_invoice_features') }} as invoice_features
    inner join to_build
        on
            invoice_features.client_id = to_build.client_id
            and invoice_features.feature_date = to_build.feature_date

),

orders as (

    select order_features.*
    from {{ ref('int_client_order_features') }} as order_features
    inner join to_build
        on
            order_features.client_id = to_build.client_id
            and order_features.feature_date = to_build.feature_date

),

credit as (

    select credit_features.*
    from {{ ref('int_client_credit_features') }} as credit_features
    inner join to_build
        on
            credit_features.client_id = to_build.client_id
            and credit_features.feature_date = to_build.feature_date

),

plans as (

    select plan_features.*
    from {{ ref('int_client_plan_features') }} as plan_features
    inner join to_build
        on
            plan_features.client_id = to_build.client_id
            and plan_features.feature_date = to_build.feature_date

),

bureau as (

    select bureau_features.*
    from {{ ref('int_client_bureau_features') }} as bureau_features
    inner join to_build
        on
            bureau_features.client_id = to_build.client_id
            and bureau_features.feature_date = to_build.feature_date

),

joined as (

    select
        -- keys
        cast(client_dates.client_id as {{ dbt.type_string() }}) as client_id,
        cast(client_dates.feature_date as date) as feature_date,
        spine.is_month_end,

        -- client as known at the date
        client_dates.industry,
        client_dates.account_status,
        cast(client_dates.tenure_months as {{ dbt.type_int() }}) as tenure_months,
        case
            when client_dates.tenure_months < {{ feature_parameter('new_client_max_tenure_months') }}
                or payments.payment_count_total < {{ feature_parameter('new_client_min_payments') }}
                then 'new'
            else 'established'
        end as segment,
        (
            coalesce(client_dates.account_status, '') = 'defaulted'
            or invoices.invoices_60_plus_days_past_due > 0
        ) as in_default_at_feature_date,

        -- payments
        payments.recency_weighted_payment_score_30d,
        payments.recency_weighted_payment_score_90d,
        payments.recency_weighted_payment_score_180d,
        cast(payments.payment_count_total as {{ dbt.type_int() }}) as payment_count_total,
        cast(payments.payment_count_30d as {{ dbt.type_int() }}) as payment_count_30d,
        cast(payments.payment_count_90d as {{ dbt.type_int() }}) as payment_count_90d,
        cast(payments.payment_count_180d as {{ dbt.type_int() }}) as payment_count_180d,
        payments.payment_amount_30d,
        payments.payment_amount_90d,
        payments.payment_amount_180d,
        payments.mean_days_past_due_6m,
        cast(payments.max_days_past_due_6m as {{ dbt.type_int() }}) as max_days_past_due_6m,
        payments.stddev_days_past_due_6m,
        payments.share_paid_late_6m,
        payments.share_paid_30_plus_late_6m,
        payments.days_past_due_velocity,
        cast(payments.days_since_last_payment as {{ dbt.type_int() }}) as days_since_last_payment,

        -- open invoices at the date
        cast(invoices.open_invoice_count as {{ dbt.type_int() }}) as open_invoice_count,
        invoices.open_invoice_amount,
        cast(invoices.overdue_invoice_count as {{ dbt.type_int() }}) as overdue_invoice_count,
        invoices.overdue_amount,
        invoices.overdue_amount_1_30_days,
        invoices.overdue_amount_31_59_days,
        invoices.overdue_amount_60_plus_days,
        cast(invoices.invoices_60_plus_days_past_due as {{ dbt.type_int() }})
            as invoices_60_plus_days_past_due,
        cast(invoices.oldest_overdue_days as {{ dbt.type_int() }}) as oldest_overdue_days,

        -- orders
        cast(orders.order_count_30d as {{ dbt.type_int() }}) as order_count_30d,
        cast(orders.order_count_90d as {{ dbt.type_int() }}) as order_count_90d,
        orders.order_value_30d,
        orders.order_value_90d,
        orders.order_value_trend,
        orders.cancelled_order_share_180d,
        orders.returned_order_share_180d,
        cast(orders.days_since_last_order as {{ dbt.type_int() }}) as days_since_last_order,

        -- credit line and utilization
        credit.credit_limit,
        credit.outstanding,
        credit.utilization_ratio_now,
        credit.utilization_ratio_avg_3m,
        credit.utilization_ratio_max_3m,
        credit.utilization_ratio_avg_6m,
        credit.utilization_ratio_max_6m,
        cast(credit.months_near_limit_6m as {{ dbt.type_int() }}) as months_near_limit_6m,
        cast(credit.months_over_limit_6m as {{ dbt.type_int() }}) as months_over_limit_6m,
        cast(credit.credit_limit_changes_6m as {{ dbt.type_int() }}) as credit_limit_changes_6m,
        credit.credit_limit_net_change_6m,

        -- payment plans
        cast(plans.payment_plan_count as {{ dbt.type_int() }}) as payment_plan_count,
        cast(plans.active_payment_plans as {{ dbt.type_int() }}) as active_payment_plans,
        cast(plans.completed_payment_plans as {{ dbt.type_int() }}) as completed_payment_plans,
        cast(plans.defaulted_payment_plans as {{ dbt.type_int() }}) as defaulted_payment_plans,
        cast(plans.months_since_last_plan as {{ dbt.type_int() }}) as months_since_last_plan,

        -- bureau
        bureau.has_bureau_report,
        bureau.bureau_score,
        cast(bureau.bureau_defaults as {{ dbt.type_int() }}) as bureau_defaults,
        bureau.external_debt,
        cast(bureau.active_credits as {{ dbt.type_int() }}) as active_credits,
        bureau.bureau_rejected,
        cast(bureau.bureau_report_age_days as {{ dbt.type_int() }}) as bureau_report_age_days

    from client_dates
    inner join spine
        on client_dates.feature_date = spine.feature_date
    inner join payments
        on client_dates.client_id = payments.client_id and client_dates.feature_date = payments.feature_date
    inner join invoices
        on client_dates.client_id = invoices.client_id and client_dates.feature_date = invoices.feature_date
    inner join orders
        on client_dates.client_id = orders.client_id and client_dates.feature_date = orders.feature_date
    inner join credit
        on client_dates.client_id = credit.client_id and client_dates.feature_date = credit.feature_date
    inner join plans
        on client_dates.client_id = plans.client_id and client_dates.feature_date = plans.feature_date
    inner join bureau
        on client_dates.client_id = bureau.client_id and client_dates.feature_date = bureau.feature_date

)

select * from joined

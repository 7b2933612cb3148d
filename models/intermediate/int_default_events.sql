with

latest as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_feature_dates') }}

),

-- 1. an invoice still not fully paid when it reaches the threshold days past due (contract: 60)
invoice_events as (

    select
        invoices.client_id,
        invoices.default_threshold_date as event_date,
        'invoice_past_due' as event_type,
        cast(invoices.invoice_id as {{ dbt.type_string() }}) as source_id
    from {{ ref('int_invoices') }} as invoices
    cross join latest
    where
        invoices.default_threshold_date <= latest.as_of_date
        and (invoices.fully_paid_date is null or invoices.fully_paid_date >= invoices.default_threshold_date)

),

plan_states as (

    select
        plan_deliveries.plan_id,
        plan_deliveries.client_id,
        plan_deliveries.export_date,
        plan_deliveries.updated_at,
        row_number() over (
            partition by plan_deliveries.plan_id order by plan_deliveries.export_date
        ) as defaulted_delivery_rank
    from {{ ref('stg_lender__payment_plans') }} as plan_deliveries
    cross join latest
    where
        plan_deliveries.plan_status = 'defaulted'
        and plan_deliveries.export_date <= latest.as_of_date

),

-- 2. a payment plan first delivered in status defaulted, dated by that state's updated_at
plan_events as (

    select
        client_id,
        coalesce(cast(updated_at as date), export_date) as event_date,
        'payment_plan_defaulted' as event_type,
        cast(plan_id as {{ dbt.type_string() }}) as source_id
    from plan_states
    where defaulted_delivery_rank = 1

),

status_snapshots as (

    select
        clients.client_id,
        clients.export_date,
        row_number() over (
            partition by clients.client_id order by clients.export_date
        ) as defaulted_snapshot_rank
    from {{ ref('stg_lender__clients') }} as clients
    cross join latest
    where
        clients.account_status = 'defaulted'
        and clients.export_date <= latest.as_of_date

),

-- 3. the client's first snapshot in status defaulted, dated by that snapshot's export
status_events as (

    select
        client_id,
        export_date as event_date,
        'account_defaulted' as event_type,
        cast(client_id as {{ dbt.type_string() }}) as source_id
    from status_snapshots
    where defaulted_snapshot_rank = 1

),

unioned as (

    select * from invoice_events
    union all
    select * from plan_events
    union all
    select * from status_events

)

select
    client_id,
    event_date,
    event_type,
    source_id
from unioned

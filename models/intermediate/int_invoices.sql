-- Incremental: a run recomputes only the invoices that can have changed since its last build
-- (`invoices_to_rebuild`: those of the clients whose orders or payments changed, and those with an order or a
-- payment dated after the earlier of the newest order date built and the latest data date); the pre-hook
-- deletes them first, so an invoice that is gone (a withdrawn or cancelled order, a latest data date moved
-- back) is gone here too. The first build, or one after a seed edit upstream, computes every invoice.
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('append'),
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ invoices_to_rebuild(true) }}{% endif %}",
        post_hook="{{ record_settings_fingerprint() }}",
    )
}}

with

orders as (

    select
        invoice_id,
        order_id,
        client_id,
        order_date,
        due_date,
        order_value
    from {{ ref('stg_lender__orders') }}
    where
        order_date <= (select max(spine.as_of_date) from {{ ref('int_feature_dates') }} as spine)
        -- a cancelled order issues no invoice to pay
        and coalesce(order_status, '') != 'cancelled'
        and invoice_id is not null
        and due_date is not null
        and {{ invoices_to_rebuild(is_incremental()) }}

),

payments_by_day as (

    select
        invoice_id,
        payment_date,
        sum(payment_amount) as paid_on_day
    from {{ ref('int_payments_scored') }}
    where invoice_id in (select orders.invoice_id from orders)
    group by invoice_id, payment_date

),

paid_to_date as (

    select
        invoice_id,
        payment_date,
        sum(paid_on_day) over (
            partition by invoice_id order by payment_date rows between unbounded preceding and current row
        ) as paid_amount
    from payments_by_day

),

-- the first day the invoice's payments cover its value; payments after it do not reopen it
settled as (

    select
        orders.invoice_id,
        min(paid_to_date.payment_date) as fully_paid_date
    from orders
    inner join paid_to_date
        on orders.invoice_id = paid_to_date.invoice_id
    where paid_to_date.paid_amount >= orders.order_value - {{ feature_parameter('invoice_paid_tolerance') }}
    group by orders.invoice_id

),

totals as (

    select
        invoice_id,
        max(paid_amount) as paid_amount
    from paid_to_date
    group by invoice_id

)

select
    -- ids
    orders.invoice_id,
    orders.order_id,
    orders.client_id,

    -- dates
    orders.order_date,
    orders.due_date,
    settled.fully_paid_date,
    {{ add_days('orders.due_date', var('default_days_past_due')) }} as default_threshold_date,

    -- amounts
    orders.order_value as invoice_amount,
    coalesce(totals.paid_amount, 0) as paid_amount

from orders
left join settled
    on orders.invoice_id = settled.invoice_id
left join totals
    on orders.invoice_id = totals.invoice_id

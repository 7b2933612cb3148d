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

),

payments_by_day as (

    select
        invoice_id,
        payment_date,
        sum(payment_amount) as paid_on_day
    from {{ ref('int_payments_scored') }}
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

-- An invoice's fully_paid_date is the first day its payments reach its value (less the tolerance): enough
-- paid by that day, not enough the day before; an invoice without one is not covered by its payments.
with

tolerance as (

    select {{ feature_parameter('invoice_paid_tolerance') }} as amount

),

paid as (

    select
        invoices.invoice_id,
        invoices.invoice_amount,
        invoices.fully_paid_date,
        sum(
            case
                when payments.payment_date <= invoices.fully_paid_date then payments.payment_amount else 0
            end
        )
            as paid_by_then,
        sum(
            case when payments.payment_date < invoices.fully_paid_date then payments.payment_amount else 0 end
        )
            as paid_before,
        coalesce(sum(payments.payment_amount), 0) as paid_in_all
    from {{ ref('int_invoices') }} as invoices
    left join {{ ref('int_payments_scored') }} as payments
        on invoices.invoice_id = payments.invoice_id
    group by invoices.invoice_id, invoices.invoice_amount, invoices.fully_paid_date

)

select paid.*
from paid
cross join tolerance
where
    (paid.fully_paid_date is not null and paid.paid_by_then < paid.invoice_amount - tolerance.amount)
    or (paid.fully_paid_date is not null and paid.paid_before >= paid.invoice_amount - tolerance.amount)
    or (paid.fully_paid_date is null and paid.paid_in_all >= paid.invoice_amount - tolerance.amount)

-- a view: points are a lookup on a 5-row curve, cheaper to compute in each reader (about 0.1 s for a million
-- payments) than to write and checkpoint as a table every day
{{ config(materialized='view') }}

with

payments as (

    select
        payment_id,
        client_id,
        invoice_id,
        payment_date,
        due_date,
        payment_amount,
        days_past_due
    from {{ ref('stg_lender__payments') }}
    where payment_date <= (select max(spine.as_of_date) from {{ ref('int_feature_dates') }} as spine)

)

select
    -- ids
    payment_id,
    client_id,
    invoice_id,

    -- dates
    payment_date,
    due_date,

    -- amounts
    payment_amount,

    -- timeliness
    days_past_due,
    {{ payment_timeliness_points('days_past_due') }} as timeliness_points

from payments

-- a view: the publisher copies it into the bundle once per run; a stored copy would buy nothing
{{ config(materialized='view') }}

with

features as (

    select * from {{ ref('fct_client_features') }}

)

select
    -- keys
    client_id,
    feature_date,
    is_month_end,

    -- payments
    payment_count_30d,
    payment_amount_30d,

    -- overdue
    overdue_invoice_count,
    overdue_amount,
    oldest_overdue_days,
    max_days_past_due_6m,

    -- credit line
    credit_limit,
    outstanding,
    utilization_ratio_now

from features

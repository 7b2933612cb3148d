with

snapshots as (

    select
        client_id,
        export_date,
        current_credit_limit,
        lag(current_credit_limit) over (partition by client_id order by export_date) as previous_credit_limit
    from {{ ref('stg_lender__clients') }}
    where export_date <= (select max(spine.as_of_date) from {{ ref('int_feature_dates') }} as spine)

)

select
    client_id,
    export_date,
    previous_credit_limit,
    current_credit_limit as credit_limit
from snapshots
-- a change is a delivered limit that differs from the one delivered in the client's previous export
where
    previous_credit_limit is not null
    and current_credit_limit is not null
    and current_credit_limit != previous_credit_limit

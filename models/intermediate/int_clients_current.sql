{{ config(materialized='view') }}

-- each client's newest export: its current state (a client left out of later snapshots keeps its last one)
with

snapshots as (

    select * from {{ ref('stg_lender__clients') }}

),

current_state as (

    select * from snapshots
    qualify export_date = max(export_date) over (partition by client_id)

)

select * from current_state

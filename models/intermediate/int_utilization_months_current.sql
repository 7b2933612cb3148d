{{ config(materialized='view') }}

-- each utilization month's newest delivered version: its current state
with

versions as (

    select * from {{ ref('stg_lender__utilization_months') }}

),

current_version as (

    select * from versions
    qualify export_date = max(export_date) over (partition by utilization_id)

)

select * from current_version

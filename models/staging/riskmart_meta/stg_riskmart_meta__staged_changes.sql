{{ config(materialized='view') }}

-- a view: the event staging models append to the log during the same build that the feature models read it in
with

source as (

    select * from {{ source('riskmart_meta', 'staged_changes') }}

),

renamed as (

    select
        -- ids
        model_name,
        client_id,

        -- dates
        first_affected_date,
        ingested_through

    from source

)

select * from renamed

{{ config(materialized='view') }}

-- a view: the log grows with every ingest, and the models that read it want the log as it is now
with

source as (

    select * from {{ source('ingest', 'ingest_log') }}

),

renamed as (

    select
        -- ids
        file_id,
        file,
        table_name,
        content_hash,

        -- dates
        export_date,
        started_at,
        finished_at,

        -- outcome
        status,
        message,
        rows_read,
        rows_loaded,
        rows_rejected,
        duration_seconds

    from source

)

select * from renamed

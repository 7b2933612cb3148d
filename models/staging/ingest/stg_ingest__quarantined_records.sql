{{ config(materialized='view') }}

-- a view: the audit trail of rejected records as it is now. The record itself stays in raw: it is the
-- lender's row verbatim and may hold the client's name or tax id, so only where it came from and why it was
-- rejected leave raw.
with

source as (

    select * from {{ source('ingest', 'quarantine') }}

),

renamed as (

    select
        -- ids
        _file_id as file_id,
        source_file,
        table_name,
        line_number,

        -- dates
        export_date,
        loaded_at,

        -- why it was rejected
        rules_broken

    from source

)

select * from renamed

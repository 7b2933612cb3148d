-- On the real ingest log: the macro must select exactly the last-finished readable delivery of every file.
with

deliveries as (

    select * from {{ source('ingest', 'ingest_log') }}

),

selected as (

    select
        file,
        count(*) as selected_deliveries,
        max(finished_at) as selected_finished_at
    from deliveries
    where {{ is_newest_delivery('file_id') }}
    group by file

),

readable as (

    select
        file,
        max(finished_at) as last_finished_at
    from deliveries
    where status in ('loaded', 'loaded_with_rejects')
    group by file

)

select
    readable.file,
    readable.last_finished_at,
    selected.selected_deliveries,
    selected.selected_finished_at
from readable
left join selected on readable.file = selected.file
where
    selected.file is null
    or selected.selected_deliveries <> 1
    or selected.selected_finished_at <> readable.last_finished_at

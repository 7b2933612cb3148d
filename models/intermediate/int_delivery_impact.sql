-- The first feature date each loaded delivery can change. Incremental feature models rebuild every date
-- on or after the earliest first_affected_date of the deliveries loaded since their last build, so they
-- equal a full refresh whatever a producer's export windows are and however late a correction arrives.
with

deliveries as (

    select
        file_id,
        file,
        table_name,
        export_date,
        finished_at
    from {{ source('raw', 'ingest_log') }}
    where status in ('loaded', 'loaded_with_rejects')

),

-- events count by business date: a delivery of a path changes the dates from the earliest event any
-- delivery of that path lists (an older delivery's events may be corrected or withdrawn by the new one)
event_dates as (

    select
        _file_id as file_id,
        min(payment_date) as first_event_date
    from {{ source('raw', 'payments') }}
    group by _file_id

    union all

    select
        _file_id as file_id,
        min(order_date) as first_event_date
    from {{ source('raw', 'orders') }}
    group by _file_id

),

path_event_dates as (

    select
        deliveries.file,
        min(event_dates.first_event_date) as first_event_date
    from deliveries
    inner join event_dates
        on deliveries.file_id = event_dates.file_id
    group by deliveries.file

)

select
    deliveries.file_id,
    deliveries.file,
    deliveries.table_name,
    deliveries.finished_at,
    -- restated rows (clients, utilization months, plans) count as of their export date, bureau reports by
    -- fecha_consulta (the log's export_date for them); an event file from its earliest event
    case
        when deliveries.table_name in ('payments', 'orders') then path_event_dates.first_event_date
        else deliveries.export_date
    end as first_affected_date
from deliveries
left join path_event_dates
    on deliveries.file = path_event_dates.file

-- The first feature date each loaded delivery can change for every client. The incremental feature models
-- rebuild every date on or after the earliest first_affected_date of the deliveries loaded since their last
-- build, so they equal a full refresh whatever a producer's export windows are and however late a
-- correction arrives. Event files (payments, orders) change single clients: staging logs the clients whose
-- events really changed (`stg_riskmart_meta__staged_changes`), so they have no date here.
select
    file_id,
    file,
    table_name,
    finished_at,
    -- restated rows (clients, utilization months, plans) count as of their export date, bureau reports by
    -- fecha_consulta (the log's export_date for them)
    case
        when table_name not in ('payments', 'orders') then export_date
    end as first_affected_date
from {{ ref('stg_ingest__deliveries') }}
where status in ('loaded', 'loaded_with_rejects')

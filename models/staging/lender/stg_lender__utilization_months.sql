with

source as (

    select * from {{ source('raw', 'utilization_monthly') }}

),

deduplicated as (

    select
        -- ids
        id as utilization_id,
        client_id,

        -- dates
        month,

        -- amounts
        avg_outstanding,
        max_outstanding,
        credit_limit,
        utilization_pct,

        -- delivery: a month is restated while open, so every delivery is kept for point-in-time reads
        _export_date as export_date,
        _export_date = max(_export_date) over (partition by id) as is_latest_export,
        _loaded_at as loaded_at

    from source
    where {{ is_newest_delivery() }}
    qualify
        row_number() over (
            partition by id, _export_date
            order by _loaded_at desc, _file_id desc, _line_number desc
        ) = 1

)

select * from deduplicated

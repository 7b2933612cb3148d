with

source as (

    select * from {{ source('lender', 'payment_plans') }}

),

deduplicated as (

    select
        -- ids
        plan_id,
        client_id,

        -- attributes
        plan_status,

        -- amounts
        original_amount,

        -- dates
        plan_start_date,
        plan_end_date,
        completion_date,
        created_at,
        updated_at,

        -- delivery: plan states are re-reported, so every delivery is kept for point-in-time reads
        _export_date as export_date,
        _export_date = max(_export_date) over (partition by plan_id) as is_latest_export,
        _loaded_at as loaded_at

    from source
    where {{ is_newest_delivery() }}
    -- within one export the newest updated_at is the plan's state on that day
    qualify
        row_number() over (
            partition by plan_id, _export_date
            order by
                updated_at desc nulls last,
                _loaded_at desc,
                _file_id desc,
                _line_number desc
        ) = 1

)

select * from deduplicated

-- incremental by export date: a run restages only the export dates of paths delivered since the last build
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_changed_keys'),
        unique_key='export_date',
        changed_keys_table='utilization_monthly',
        changed_keys_column='_export_date',
        on_schema_change='fail',
    )
}}

with

source as (

    -- the newest delivery of each path; on an incremental run only the keys of files delivered since the last
    -- build
    {{ newest_raw_rows('utilization_monthly', '_export_date', is_incremental()) }}

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
        _loaded_at as loaded_at

    from source
    qualify
        row_number() over (
            partition by id, _export_date
            order by _loaded_at desc, _file_id desc, _line_number desc
        ) = 1

)

select * from deduplicated

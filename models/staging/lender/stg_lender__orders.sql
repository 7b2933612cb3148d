-- incremental by order_id: a run restages only the orders listed in any delivery of a path
-- delivered since the last build (old deliveries too, so an order a correction dropped is removed)
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_changed_keys'),
        unique_key='order_id',
        changed_keys_table='orders',
        changed_keys_column='order_id',
        on_schema_change='fail',
        change_log={
            'client_column': 'client_id',
            'date_column': 'order_date',
            'ignore_columns': ['export_date', 'loaded_at'],
        },
        pre_hook="{{ log_full_restage() }}",
    )
}}

with

source as (

    -- the newest delivery of each path; on an incremental run only the keys of files delivered since the last
    -- build
    {{ newest_raw_rows('orders', 'order_id', is_incremental()) }}

),

deduplicated as (

    select
        -- ids
        order_id,
        client_id,
        invoice_id,

        -- dates
        order_date,
        due_date,
        created_at,

        -- amounts
        order_value,

        -- attributes
        order_status,

        -- delivery
        _export_date as export_date,
        _loaded_at as loaded_at

    from source
    -- overlapping export windows repeat an order: the newest created_at wins, then the newest delivery
    qualify
        row_number() over (
            partition by order_id
            order by
                created_at desc nulls last,
                _export_date desc,
                _loaded_at desc,
                _file_id desc,
                _line_number desc
        ) = 1

)

select * from deduplicated

-- incremental by payment_id: a run restages only the payments listed in any delivery of a path
-- delivered since the last build (old deliveries too, so a payment a correction dropped is removed)
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_changed_keys'),
        unique_key='payment_id',
        changed_keys_table='payments',
        changed_keys_column='payment_id',
        on_schema_change='fail',
        change_log={
            'client_column': 'client_id',
            'date_column': 'payment_date',
            'ignore_columns': ['export_date', 'loaded_at'],
        },
        pre_hook="{{ log_full_restage() }}",
    )
}}

with

source as (

    -- the newest delivery of each path; on an incremental run only the keys of files delivered since the last
    -- build
    {{ newest_raw_rows('payments', 'payment_id', is_incremental()) }}

),

deduplicated as (

    select
        -- ids
        payment_id,
        client_id,
        invoice_id,

        -- dates
        payment_date,
        due_date,
        created_at,

        -- amounts
        payment_amount,

        -- lateness as delivered; derived from the dates only when the export left it empty
        coalesce(
            days_past_due,
            {{ dbt.datediff('due_date', 'payment_date', 'day') }}
        ) as days_past_due,

        -- attributes
        payment_method,

        -- delivery
        _export_date as export_date,
        _loaded_at as loaded_at

    from source
    -- overlapping export windows repeat a payment: the newest created_at wins, then the newest delivery
    qualify
        row_number() over (
            partition by payment_id
            order by
                created_at desc nulls last,
                _export_date desc,
                _loaded_at desc,
                _file_id desc,
                _line_number desc
        ) = 1

)

select * from deduplicated

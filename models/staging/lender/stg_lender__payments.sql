with

source as (

    select * from {{ source('raw', 'payments') }}

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
    where {{ is_newest_delivery() }}
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

with

source as (

    select * from {{ source('raw', 'orders') }}

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
    where {{ is_newest_delivery() }}
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

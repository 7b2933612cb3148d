with

source as (

    select * from {{ source('raw', 'clients') }}

),

deduplicated as (

    select
        -- ids
        client_id,

        -- pii, hashed: the raw name and tax id never leave raw
        {{ hash_pii('client_name') }} as client_name_hash,
        {{ hash_pii('tax_id') }} as tax_id_hash,

        -- attributes
        industry,
        account_status,

        -- amounts
        current_credit_limit,
        current_outstanding,

        -- dates
        registration_date,
        created_at,
        updated_at,

        -- delivery
        _export_date as export_date,
        _export_date = max(_export_date) over (partition by client_id) as is_latest_export,
        _loaded_at as loaded_at

    from source
    where {{ is_newest_delivery() }}
    -- one snapshot row per client per export, should a producer ever repeat a client in one day
    qualify
        row_number() over (
            partition by client_id, _export_date
            order by _loaded_at desc, _file_id desc, _line_number desc
        ) = 1

)

select * from deduplicated

-- incremental by export date: a run restages only the export dates of paths delivered since the last build
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_changed_keys'),
        unique_key='export_date',
        changed_keys_table='clients',
        changed_keys_column='_export_date',
        on_schema_change='fail',
    )
}}

with

source as (

    -- the newest delivery of each path; on an incremental run only the keys of files delivered since the last
    -- build
    {{ newest_raw_rows('clients', '_export_date', is_incremental()) }}

),

deduplicated as (

    select * from source
    -- one snapshot row per client per export, should a producer ever repeat a client in one day
    qualify
        row_number() over (
            partition by client_id, _export_date
            order by _loaded_at desc, _file_id desc, _line_number desc
        ) = 1

),

-- the hash is deterministic, so each distinct value is hashed once instead of once per snapshot row
name_hashes as (

    select
        client_name,
        {{ hash_pii('client_name') }} as client_name_hash
    from (
        select distinct client_name from deduplicated
        where client_name is not null
    ) as distinct_names

),

tax_id_hashes as (

    select
        tax_id,
        {{ hash_pii('tax_id') }} as tax_id_hash
    from (
        select distinct tax_id from deduplicated
        where tax_id is not null
    ) as distinct_tax_ids

),

snapshots as (

    select
        -- ids
        deduplicated.client_id,

        -- pii, hashed: the raw name and tax id never leave raw
        name_hashes.client_name_hash,
        tax_id_hashes.tax_id_hash,

        -- attributes
        deduplicated.industry,
        deduplicated.account_status,

        -- amounts
        deduplicated.current_credit_limit,
        deduplicated.current_outstanding,

        -- dates
        deduplicated.registration_date,
        deduplicated.created_at,
        deduplicated.updated_at,

        -- delivery
        deduplicated._export_date as export_date,
        deduplicated._loaded_at as loaded_at

    from deduplicated
    left join name_hashes on deduplicated.client_name = name_hashes.client_name
    left join tax_id_hashes on deduplicated.tax_id = tax_id_hashes.tax_id

)

select * from snapshots

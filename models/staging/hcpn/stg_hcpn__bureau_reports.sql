with

source as (

    select * from {{ source('hcpn', 'hcpn_reports') }}

),

deduplicated as (

    select
        -- ids
        client_id,

        -- dates
        fecha_consulta as report_date,

        -- decision
        case estado_solicitud
            when 'aprobado' then 'approved'
            when 'rechazado' then 'rejected'
        end as bureau_decision,
        motivo_rechazo as rejection_reason,

        -- bureau figures
        puntaje_credito as bureau_score,
        coalesce(defaults_bureau, 0) as bureau_defaults,
        deuda_total_externa as external_debt,
        creditos_activos as active_credits,

        -- delivery
        fecha_consulta = max(fecha_consulta) over (partition by client_id) as is_latest_report,
        _export_date as export_date,
        _loaded_at as loaded_at

    from source
    -- each client's file is rewritten per report, so every report date is kept (no newest-delivery filter);
    -- a corrected re-delivery of the same report replaces it
    where fecha_consulta is not null
    qualify
        row_number() over (
            partition by client_id, fecha_consulta
            order by _loaded_at desc, _file_id desc
        ) = 1

)

select * from deduplicated

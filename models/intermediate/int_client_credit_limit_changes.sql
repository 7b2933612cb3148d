-- Incremental: a run recomputes the exports on or after the earliest client export delivered since its last
-- build (int_delivery_impact; every export on a full build or after a seed edit upstream), comparing each
-- with the client's previous export, which may be older than that. The pre-hook deletes the recomputed
-- exports first, so a change a corrected export no longer shows is gone too. Every delivered export is kept,
-- whatever as_of_date: the feature models read only the changes exported on or before their feature date.
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('append'),
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where export_date >= {{ first_export_to_rebuild('clients') }}{% endif %}",
        post_hook="{{ record_settings_fingerprint() }}",
    )
}}

with

rebuild_from as (

    select {{ first_export_to_rebuild('clients') }} as export_date

),

rebuilt as (

    select
        clients.client_id,
        clients.export_date,
        clients.current_credit_limit
    from {{ ref('stg_lender__clients') }} as clients
    inner join rebuild_from
        on clients.export_date >= rebuild_from.export_date

),

-- each client's newest export before the recomputed ones: the limit its first recomputed export follows
last_before as (

    select
        clients.client_id,
        max(clients.export_date) as export_date,
        {{ value_at_latest('clients.current_credit_limit', 'clients.export_date') }} as current_credit_limit
    from {{ ref('stg_lender__clients') }} as clients
    inner join rebuild_from
        on clients.export_date < rebuild_from.export_date
    group by clients.client_id

),

versions as (

    select * from rebuilt
    union all
    select * from last_before

),

snapshots as (

    select
        client_id,
        export_date,
        current_credit_limit,
        lag(current_credit_limit) over (partition by client_id order by export_date) as previous_credit_limit
    from versions

)

select
    snapshots.client_id,
    snapshots.export_date,
    snapshots.previous_credit_limit,
    snapshots.current_credit_limit as credit_limit
from snapshots
inner join rebuild_from
    on snapshots.export_date >= rebuild_from.export_date
-- a change is a delivered limit that differs from the one delivered in the client's previous export
where
    snapshots.previous_credit_limit is not null
    and snapshots.current_credit_limit is not null
    and snapshots.current_credit_limit != snapshots.previous_credit_limit

-- the spine is rebuilt by whole dates (a client enters or leaves it only through the snapshots, which are
-- dated deliveries): keyed by feature_date, unlike the families keyed by client and date
{{
    config(
        unique_key='feature_date',
        incremental_strategy=incremental_strategy_for('replace_dates'),
        **date_partitioning('feature_date', 'day', ['client_id'])
    )
}}

with

feature_dates as (

    {{ feature_dates_to_build(is_incremental()) }}

),

-- a client missing from every full snapshot of the last `client_snapshot_max_age_days` days is gone
snapshot_bounds as (

    select
        {{ add_days('min(feature_date)', -client_snapshot_max_age_days()) }} as first_export_date,
        max(feature_date) as last_export_date
    from feature_dates

),

snapshots as (

    select
        clients.client_id,
        clients.export_date,
        clients.registration_date,
        clients.industry,
        clients.account_status,
        clients.current_credit_limit,
        clients.current_outstanding
    from {{ ref('stg_lender__clients') }} as clients
    inner join snapshot_bounds
        on
            clients.export_date >= snapshot_bounds.first_export_date
            and clients.export_date <= snapshot_bounds.last_export_date

),

client_ids as (

    select distinct client_id
    from snapshots

),

candidates as (

    select
        client_ids.client_id,
        feature_dates.feature_date
    from client_ids
    cross join feature_dates

),

-- each client as delivered in its newest snapshot exported on or before the feature date
known_at_date as (

    {{ as_of_join(
        'candidates', 'snapshots', ['client_id'], 'feature_date', 'export_date',
        ['export_date', 'registration_date', 'industry', 'account_status', 'current_credit_limit',
         'current_outstanding'],
        left=false
    ) }}

)

select
    -- keys
    client_id,
    feature_date,

    -- the snapshot the date sees
    export_date as snapshot_export_date,
    registration_date,
    industry,
    account_status,
    current_credit_limit as credit_limit,
    current_outstanding as outstanding,

    -- tenure
    {{ days_between('registration_date', 'feature_date') }} as tenure_days,
    {{ full_months_between('registration_date', 'feature_date') }} as tenure_months

from known_at_date
where
    registration_date <= feature_date
    and coalesce(account_status, '') != 'closed'
    and {{ add_days('export_date', client_snapshot_max_age_days()) }} >= feature_date

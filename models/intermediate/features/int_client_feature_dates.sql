with

feature_dates as (

    {{ feature_dates_to_build(is_incremental()) }}

),

snapshots as (

    select
        client_id,
        export_date,
        registration_date,
        industry,
        account_status,
        current_credit_limit,
        current_outstanding
    from {{ ref('stg_lender__clients') }}

),

candidates as (

    select
        clients.client_id,
        feature_dates.feature_date
    from (select distinct client_id from snapshots) as clients
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

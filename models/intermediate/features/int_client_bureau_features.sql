{{
    config(
        incremental_strategy=incremental_strategy_for('replace_keys'),
        **date_partitioning('feature_date', 'month', ['client_id'])
    )
}}

with

-- the clients of the spine at the feature dates this run builds
client_dates as (

    {{ client_dates_to_build(is_incremental()) }}

),

reports as (

    select
        client_id,
        report_date,
        bureau_decision,
        bureau_score,
        bureau_defaults,
        external_debt,
        active_credits
    from {{ ref('stg_hcpn__bureau_reports') }}

),

-- the latest bureau report dated on or before the feature date
report_known as (

    {{ as_of_join(
        'client_dates', 'reports', ['client_id'], 'feature_date', 'report_date',
        ['report_date', 'bureau_decision', 'bureau_score', 'bureau_defaults', 'external_debt', 'active_credits']
    ) }}

)

-- money rounded to cents, ratios to 6 decimals: a float sum's last bits follow the engine's execution
-- order, and features must be reproducible bit for bit
select
    client_id,
    feature_date,
    report_date is not null as has_bureau_report,
    round(bureau_score, 6) as bureau_score,
    bureau_defaults,
    round(external_debt, 2) as external_debt,
    active_credits,
    case when report_date is not null then bureau_decision = 'rejected' end as bureau_rejected,
    {{ days_between('report_date', 'feature_date') }} as bureau_report_age_days
from report_known

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

plan_deliveries as (

    select
        plan_id,
        client_id,
        export_date,
        plan_status,
        plan_start_date
    from {{ ref('stg_lender__payment_plans') }}

),

plans as (

    select
        plan_id,
        client_id,
        min(export_date) as first_export_date
    from plan_deliveries
    group by plan_id, client_id

),

candidates as (

    select
        plans.plan_id,
        client_dates.feature_date
    from client_dates
    inner join plans
        on
            client_dates.client_id = plans.client_id
            and client_dates.feature_date >= plans.first_export_date

),

-- each plan in the state delivered by the newest export on or before the date
plans_known as (

    {{ as_of_join(
        'candidates', 'plan_deliveries', ['plan_id'], 'feature_date', 'export_date',
        ['client_id', 'plan_status', 'plan_start_date'], left=false
    ) }}

),

aggregated as (

    select
        client_id,
        feature_date,
        count(*) as payment_plan_count,
        count(case when plan_status = 'active' then 1 end) as active_payment_plans,
        count(case when plan_status = 'completed' then 1 end) as completed_payment_plans,
        count(case when plan_status = 'defaulted' then 1 end) as defaulted_payment_plans,
        max(case when plan_start_date <= feature_date then plan_start_date end) as last_plan_start_date
    from plans_known
    group by client_id, feature_date

)

select
    client_dates.client_id,
    client_dates.feature_date,
    coalesce(
        aggregated.payment_plan_count,
        {{ no_history_value('payment_plan_count') }}
    ) as payment_plan_count,
    coalesce(
        aggregated.active_payment_plans,
        {{ no_history_value('active_payment_plans') }}
    ) as active_payment_plans,
    coalesce(
        aggregated.completed_payment_plans,
        {{ no_history_value('completed_payment_plans') }}
    ) as completed_payment_plans,
    coalesce(
        aggregated.defaulted_payment_plans,
        {{ no_history_value('defaulted_payment_plans') }}
    ) as defaulted_payment_plans,
    coalesce(
        {{ full_months_between('aggregated.last_plan_start_date', 'client_dates.feature_date') }},
        {{ no_history_value('months_since_last_plan') }}
    ) as months_since_last_plan
from client_dates
left join aggregated
    on
        client_dates.client_id = aggregated.client_id
        and client_dates.feature_date = aggregated.feature_date

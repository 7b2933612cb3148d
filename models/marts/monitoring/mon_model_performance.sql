{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_keys'),
        unique_key=['cohort_grain', 'cohort_start', 'scorer'],
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_vanished_cohorts('cohort_start', 'cohort_end') }}"],
    )
}}
{#- the Monday of score_date's week -#}
{%- set week_epoch = "cast('1970-01-05' as date)" %}
{%- set week_start = dbt.dateadd(
    'day', '7 * cast(floor(' ~ dbt.datediff(week_epoch, 'score_date', 'day') ~ ' / 7.0) as ' ~ dbt.type_int() ~ ')',
    week_epoch) %}
{%- set compare_built = incremental_with_column('cohort_fingerprint') %}

with

champion as (

    select
        model_version,
        test_gini
    from {{ ref('stg_ml__model_registry') }}
    where status = 'champion'

),

-- each matured row once per scorer (model, rules, blend), judged on the same rows
scorer_rows as (

    select * from {{ ref('int_mon_matured_scores') }}

),

-- each score date's fingerprint of the rows it is judged on (every scorer's)
date_fingerprints as (

    select
        scorer_rows.score_date,
        {{ rows_fingerprint([
            'scorer_rows.client_id', 'scorer_rows.score_date', 'scorer_rows.scorer', 'scorer_rows.model_version',
            'scorer_rows.predicted_probability', 'scorer_rows.risk_rank_value', 'scorer_rows.default_next_60d',
        ]) }} as fingerprint
    from scorer_rows
    group by scorer_rows.score_date

),

-- cohorts: each score date, and each week (Monday to Sunday) pooling its score dates, with the fingerprint
-- of their rows (a week's: the xor of its dates', as if taken over its rows)
cohorts as (

    select
        'score_date' as cohort_grain,
        date_fingerprints.score_date as cohort_start,
        date_fingerprints.score_date as cohort_end,
        date_fingerprints.fingerprint as cohort_fingerprint
    from date_fingerprints
    union all
    select
        'week' as cohort_grain,
        weeks.week_start as cohort_start,
        {{ dbt.dateadd('day', '6', 'weeks.week_start') }} as cohort_end,
        bit_xor(weeks.fingerprint) as cohort_fingerprint
    from (
        select
            {{ week_start }} as week_start,
            date_fingerprints.fingerprint
        from date_fingerprints
    ) as weeks
    group by weeks.week_start

),

-- the cohorts this run computes: every one on a full build; on an incremental build a cohort's labels can
-- still change when late data arrives, so the new cohorts, those whose rows changed since they were built
-- (late data, a re-score), and those whose champion columns a new champion changes
to_build as (

    select cohorts.*
    from cohorts
    {%- if compare_built %}
    where
        not exists (
            select 1
            from {{ this }} as built
            where
                built.cohort_grain = cohorts.cohort_grain
                and built.cohort_start = cohorts.cohort_start
                and built.cohort_fingerprint = cohorts.cohort_fingerprint
        )
        or exists (
            select 1
            from {{ this }} as built
            left join champion
                on built.scorer = 'model' and built.model_version = champion.model_version
            where
                built.cohort_grain = cohorts.cohort_grain
                and built.cohort_start = cohorts.cohort_start
                and built.training_gini is distinct from champion.test_gini
        )
    {%- endif %}

),

-- the rows of each cohort to compute
cohort_rows as (

    select
        to_build.cohort_grain,
        to_build.cohort_start,
        to_build.cohort_end,
        to_build.cohort_fingerprint,
        scorer_rows.*
    from scorer_rows
    inner join to_build
        on to_build.cohort_grain = 'score_date' and scorer_rows.score_date = to_build.cohort_start
    union all
    select
        to_build.cohort_grain,
        to_build.cohort_start,
        to_build.cohort_end,
        to_build.cohort_fingerprint,
        scorer_rows.*
    from scorer_rows
    inner join to_build
        on to_build.cohort_grain = 'week' and {{ week_start }} = to_build.cohort_start

),

ranked as (

    select
        cohort_rows.*,
        {{ average_rank(
            'cohort_rows.risk_rank_value', 'cohort_rows.cohort_grain, cohort_rows.cohort_start, cohort_rows.scorer'
        ) }} as risk_rank,
        {{ score_ks_gap(
            'cohort_rows.risk_rank_value', 'cohort_rows.default_next_60d',
            'cohort_rows.cohort_grain, cohort_rows.cohort_start, cohort_rows.scorer'
        ) }} as ks_gap
    from cohort_rows

),

metrics as (

    select
        cohort_grain,
        cohort_start,
        max(cohort_end) as cohort_end,
        scorer,
        max(model_version) as model_version,
        count(distinct score_date) as score_dates,
        count(*) as clients,
        sum(default_next_60d) as default_count,
        avg(cast(default_next_60d as {{ type_double() }})) as observed_default_rate,
        avg(predicted_probability) as mean_predicted_probability,
        {{ mann_whitney_auc('default_next_60d', 'risk_rank') }} as auc,
        max(ks_gap) as ks,
        {{ brier_score('predicted_probability', 'default_next_60d') }} as brier,
        max(cohort_fingerprint) as cohort_fingerprint
    from ranked
    group by cohort_grain, cohort_start, scorer

)

select
    -- keys
    cast(metrics.cohort_grain as {{ dbt.type_string() }}) as cohort_grain,
    cast(metrics.cohort_start as date) as cohort_start,
    cast(metrics.cohort_end as date) as cohort_end,
    cast(metrics.scorer as {{ dbt.type_string() }}) as scorer,
    cast(metrics.model_version as {{ dbt.type_string() }}) as model_version,

    -- cohort
    cast(metrics.score_dates as {{ dbt.type_bigint() }}) as score_dates,
    cast(metrics.clients as {{ dbt.type_bigint() }}) as clients,
    cast(metrics.default_count as {{ dbt.type_bigint() }}) as default_count,

    -- discrimination
    cast(metrics.auc as {{ type_double() }}) as auc,
    cast(2 * metrics.auc - 1 as {{ type_double() }}) as gini,
    cast(metrics.ks as {{ type_double() }}) as ks,

    -- calibration
    cast(metrics.brier as {{ type_double() }}) as brier,
    cast(metrics.mean_predicted_probability as {{ type_double() }}) as mean_predicted_probability,
    cast(metrics.observed_default_rate as {{ type_double() }}) as observed_default_rate,
    cast(
        metrics.observed_default_rate / nullif(metrics.mean_predicted_probability, 0) as {{ type_double() }}
    ) as calibration_ratio,

    -- against the champion's Gini on its out-of-time test dates (model rows of the champion only)
    cast(champion.test_gini as {{ type_double() }}) as training_gini,
    cast(champion.test_gini - (2 * metrics.auc - 1) as {{ type_double() }}) as gini_drop,

    -- what the cohort was computed from
    metrics.cohort_fingerprint

from metrics
left join champion
    on metrics.scorer = 'model' and metrics.model_version = champion.model_version

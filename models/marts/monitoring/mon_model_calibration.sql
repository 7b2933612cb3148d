{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_dates'),
        unique_key='score_date',
        on_schema_change='append_new_columns',
        post_hook=["{{ delete_vanished_cohorts('score_date', 'score_date') }}"],
        **date_partitioning('score_date', 'day'),
    )
}}
{%- set compare_built = incremental_with_column('cohort_fingerprint') %}

with

-- each matured row once per scorer (model, rules, blend), judged on the same rows
scorer_rows as (

    select * from {{ ref('int_mon_matured_scores') }}

),

-- each score date's fingerprint of the rows it is judged on (every scorer's)
cohorts as (

    select
        scorer_rows.score_date,
        {{ rows_fingerprint([
            'scorer_rows.client_id', 'scorer_rows.score_date', 'scorer_rows.scorer', 'scorer_rows.model_version',
            'scorer_rows.predicted_probability', 'scorer_rows.risk_rank_value', 'scorer_rows.default_next_60d',
        ]) }} as cohort_fingerprint
    from scorer_rows
    group by scorer_rows.score_date

),

-- the score dates this run computes: every one on a full build; on an incremental build a cohort's labels
-- can still change when late data arrives, so the new ones and those whose rows changed since they were built
to_build as (

    select cohorts.*
    from cohorts
    {%- if compare_built %}
    where not exists (
        select 1
        from {{ this }} as built
        where built.score_date = cohorts.score_date and built.cohort_fingerprint = cohorts.cohort_fingerprint
    )
    {%- endif %}

),

-- deciles of the predicted probability within each cohort and scorer (1 = lowest); ties share a decile
deciled as (

    select
        scorer_rows.*,
        to_build.cohort_fingerprint,
        least(
            10,
            1 + cast(floor(
                10.0 * (rank() over (
                    partition by scorer_rows.score_date, scorer_rows.scorer
                    order by scorer_rows.predicted_probability
                ) - 1)
                / count(*) over (partition by scorer_rows.score_date, scorer_rows.scorer)
            ) as {{ dbt.type_int() }})
        ) as decile
    from scorer_rows
    inner join to_build
        on scorer_rows.score_date = to_build.score_date

)

select
    -- keys
    cast(score_date as date) as score_date,
    cast(scorer as {{ dbt.type_string() }}) as scorer,
    cast(decile as {{ dbt.type_int() }}) as decile,

    -- predicted against observed
    cast(count(*) as {{ dbt.type_bigint() }}) as clients,
    cast(sum(default_next_60d) as {{ dbt.type_bigint() }}) as default_count,
    cast(avg(predicted_probability) as {{ type_double() }}) as mean_predicted_probability,
    cast(avg(cast(default_next_60d as {{ type_double() }})) as {{ type_double() }}) as observed_default_rate,

    -- what the cohort was computed from
    max(cohort_fingerprint) as cohort_fingerprint

from deciled
group by score_date, scorer, decile

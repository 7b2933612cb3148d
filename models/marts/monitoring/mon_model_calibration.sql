-- rebuilt every run, not incremental: a cohort's labels can still change when late data arrives
with

-- each matured row once per scorer (model, rules, blend), judged on the same rows
scorer_rows as (

    select * from {{ ref('int_mon_matured_scores') }}

),

-- deciles of the predicted probability within each cohort and scorer (1 = lowest); ties share a decile
deciled as (

    select
        scorer_rows.*,
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
    cast(avg(cast(default_next_60d as {{ type_double() }})) as {{ type_double() }}) as observed_default_rate

from deciled
group by score_date, scorer, decile

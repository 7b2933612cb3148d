-- rebuilt every run, not incremental: a cohort's labels can still change when late data arrives
with

-- clients the model scored at a date whose 60-day label window has matured, with the outcome
matured as (

    select
        scores.client_id,
        scores.score_date,
        scores.model_version,
        scores.model_probability,
        scores.rule_probability,
        -- the rule score is higher-is-safer: its negation ranks by risk, with the score's own ties
        -1 * scores.rule_score as rule_risk_rank_value,
        scores.probability_of_default,
        labels.default_next_60d
    from {{ ref('fct_client_scores') }} as scores
    inner join {{ ref('int_default_labels') }} as labels
        on scores.client_id = labels.client_id and scores.score_date = labels.feature_date
    where scores.scored_by = 'model' and labels.label_matured

),

-- the three scorers judged on the same rows
scorers as (

    select 'model' as scorer
    union all
    select 'rules' as scorer
    union all
    select 'blend' as scorer

)

select
    -- keys
    matured.client_id,
    matured.score_date,
    scorers.scorer,
    matured.model_version,

    -- what the scorer predicted and how it ranks the client by risk
    cast(case scorers.scorer
        when 'model' then matured.model_probability
        when 'rules' then matured.rule_probability
        else matured.probability_of_default
    end as {{ type_double() }}) as predicted_probability,
    cast(case scorers.scorer
        when 'model' then matured.model_probability
        when 'rules' then matured.rule_risk_rank_value
        else matured.probability_of_default
    end as {{ type_double() }}) as risk_rank_value,

    -- the outcome
    matured.default_next_60d

from matured
cross join scorers

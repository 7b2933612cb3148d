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

-- each row once per scorer: the champion model, the rule score and their blend, judged on the same rows
scorer_rows as (

    select
        client_id,
        score_date,
        model_version,
        'model' as scorer,
        model_probability as predicted_probability,
        model_probability as risk_rank_value,
        default_next_60d
    from matured
    union all
    select
        client_id,
        score_date,
        model_version,
        'rules' as scorer,
        rule_probability as predicted_probability,
        rule_risk_rank_value as risk_rank_value,
        default_next_60d
    from matured
    union all
    select
        client_id,
        score_date,
        model_version,
        'blend' as scorer,
        probability_of_default as predicted_probability,
        probability_of_default as risk_rank_value,
        default_next_60d
    from matured

)

select
    -- keys
    client_id,
    score_date,
    scorer,
    model_version,

    -- what the scorer predicted and how it ranks the client by risk
    cast(predicted_probability as {{ type_double() }}) as predicted_probability,
    cast(risk_rank_value as {{ type_double() }}) as risk_rank_value,

    -- the outcome
    default_next_60d

from scorer_rows

{#- The scored mart's arithmetic, written once for `fct_client_scores` and applicant scoring: the blend of
    the model's and the rules' probabilities, the score scale, the band, the risk policy and the reasons, for
    every row of `features` (client_id, score_date, segment, utilization_ratio_now,
    in_default_at_feature_date). `rule_scores` has the columns of `fct_rule_scores`; `model_scores` and
    `model_reasons` those of `stg_ml__scores` and `stg_ml__score_reasons`; `seeds` maps each scoring seed's
    name (score_scale, ensemble_weights, risk_policy, score_bands, feature_reasons, rule_score_components)
    to its relation. Returns one select statement. -#}
{% macro client_scores(features, rule_scores, model_scores, model_reasons, seeds) -%}
with

blended as (

    select
        features.client_id,
        features.score_date,
        features.segment,
        features.utilization_ratio_now,
        rules.rule_score,
        rules.rule_probability,
        model_scores.model_probability,
        model_scores.model_version,
        -- a client already in default is outside the model's domain: certain default, not a prediction
        case
            when features.in_default_at_feature_date then 'in_default'
            when model_scores.model_probability is null then 'rules'
            else 'model'
        end as scored_by,
        case
            when features.in_default_at_feature_date then 1.0
            when model_scores.model_probability is null then rules.rule_probability
            else weights.model_weight * model_scores.model_probability
                + weights.rule_weight * rules.rule_probability
        end as probability_of_default
    from {{ features }} as features
    inner join {{ rule_scores }} as rules
        on features.client_id = rules.client_id
            and features.score_date = rules.feature_date
    left join {{ model_scores }} as model_scores
        on features.client_id = model_scores.client_id
            and features.score_date = model_scores.feature_date
    left join {{ seeds['ensemble_weights'] }} as weights
        on features.segment = weights.segment

),

scored as (

    select
        blended.*,
        {{ probability_to_score(
            'blended.probability_of_default', 'scale.base_score', 'scale.base_good_bad_odds',
            'scale.points_to_double_odds', 'scale.min_score', 'scale.max_score'
        ) }} as score,
        {{ score_factor('scale.points_to_double_odds') }} as points_per_log_odds
    from blended
    cross join {{ seeds['score_scale'] }} as scale

),

-- the first policy row (by priority) whose probability and utilization ranges hold the client
policy_matches as (

    select
        scored.client_id,
        scored.score_date,
        policy_rows.risk_level,
        policy_rows.recommended_action,
        row_number() over (
            partition by scored.client_id, scored.score_date order by policy_rows.priority
        ) as match_rank
    from scored
    inner join {{ seeds['risk_policy'] }} as policy_rows
        on scored.probability_of_default >= policy_rows.min_probability
            and (
                scored.probability_of_default < policy_rows.max_probability
                or policy_rows.max_probability >= 1
            )
            and (
                policy_rows.min_utilization_ratio is null
                or coalesce(scored.utilization_ratio_now, 0) >= policy_rows.min_utilization_ratio
            )
            and (
                policy_rows.max_utilization_ratio is null
                or coalesce(scored.utilization_ratio_now, 0) < policy_rows.max_utilization_ratio
            )

),

policy as (

    select * from policy_matches
    where match_rank = 1

),

-- model reasons: the features that raise the log-odds most, in score points
model_reason_rows as (

    select
        model_reasons.client_id,
        model_reasons.feature_date as score_date,
        model_reasons.rank as reason_rank,  -- noqa: RF04 (the ML layer names it so)
        coalesce(reason_words.reason, model_reasons.feature) as reason,
        model_reasons.feature_value as reason_value,
        cast(
            round(model_reasons.contribution * {{ score_factor('scale.points_to_double_odds') }})
            as {{ dbt.type_int() }}
        ) as reason_points
    from {{ model_reasons }} as model_reasons
    cross join {{ seeds['score_scale'] }} as scale
    left join {{ seeds['feature_reasons'] }} as reason_words
        on model_reasons.feature = reason_words.feature

),

-- rule reasons (clients scored by the rules alone): the components that take the most points off 1000
rule_components as (

    {%- for component, feature in rule_score_components() %}
        select
            rule_scores.client_id,
            rule_scores.feature_date as score_date,
            '{{ component }}' as component,
            rule_scores.{{ component }}_points as points
        from {{ rule_scores }} as rule_scores
        inner join {{ features }} as features
            on rule_scores.client_id = features.client_id and rule_scores.feature_date = features.score_date
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

rule_reason_rows as (

    select
        rule_components.client_id,
        rule_components.score_date,
        row_number() over (
            partition by rule_components.client_id, rule_components.score_date
            order by rule_components.points desc, rule_components.component asc
        ) as reason_rank,
        component_words.description as reason,
        cast(null as {{ dbt.type_string() }}) as reason_value,
        cast(round(rule_components.points) as {{ dbt.type_int() }}) as reason_points
    from rule_components
    left join {{ seeds['rule_score_components'] }} as component_words
        on rule_components.component = component_words.component
    where rule_components.points > 0

),

reasons as (

    select model_reason_rows.* from model_reason_rows
    inner join scored
        on model_reason_rows.client_id = scored.client_id
            and model_reason_rows.score_date = scored.score_date
            and scored.scored_by = 'model'
    union all
    select rule_reason_rows.* from rule_reason_rows
    inner join scored
        on rule_reason_rows.client_id = scored.client_id
            and rule_reason_rows.score_date = scored.score_date
            and scored.scored_by = 'rules'
    where rule_reason_rows.reason_rank <= 3

),

in_default_reason_rows as (

    select
        scored.client_id,
        scored.score_date,
        1 as reason_rank,
        'Already in default at the score date' as reason,
        cast(null as {{ dbt.type_string() }}) as reason_value,
        cast(null as {{ dbt.type_int() }}) as reason_points
    from scored
    where scored.scored_by = 'in_default'

),

reasons_wide as (

    select
        client_id,
        score_date,
    {%- for rank in [1, 2, 3] %}
        max(case when reason_rank = {{ rank }} then reason end) as reason_{{ rank }},
        max(case when reason_rank = {{ rank }} then reason_value end) as reason_{{ rank }}_value,
        max(case when reason_rank = {{ rank }} then reason_points end) as reason_{{ rank }}_points
        {{- ',' if not loop.last }}
    {%- endfor %}
    from (
        select * from reasons
        union all
        select * from in_default_reason_rows
    ) as all_reasons
    group by client_id, score_date

)

select
    -- keys
    cast(scored.client_id as {{ dbt.type_string() }}) as client_id,
    cast(scored.score_date as date) as score_date,

    -- probabilities and score
    cast(scored.probability_of_default as {{ type_double() }}) as probability_of_default,
    cast(scored.model_probability as {{ type_double() }}) as model_probability,
    cast(scored.rule_probability as {{ type_double() }}) as rule_probability,
    scored.score,
    bands.score_band,
    cast(scored.rule_score as {{ dbt.type_int() }}) as rule_score,
    scored.segment,

    -- decision
    policy.risk_level,
    policy.recommended_action,

    -- reasons that raise the risk
    reasons_wide.reason_1,
    reasons_wide.reason_1_value,
    reasons_wide.reason_1_points,
    reasons_wide.reason_2,
    reasons_wide.reason_2_value,
    reasons_wide.reason_2_points,
    reasons_wide.reason_3,
    reasons_wide.reason_3_value,
    reasons_wide.reason_3_points,

    -- provenance
    scored.model_version,
    scored.scored_by

from scored
left join policy
    on scored.client_id = policy.client_id
        and scored.score_date = policy.score_date
left join {{ seeds['score_bands'] }} as bands
    on scored.score between bands.min_score and bands.max_score
left join reasons_wide
    on scored.client_id = reasons_wide.client_id
        and scored.score_date = reasons_wide.score_date
{%- endmacro %}

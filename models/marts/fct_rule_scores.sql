{#- The arithmetic is the macro `rule_scores` (applicant scoring runs the same macro on the posted
    applicant); the components and the feature each reads are rows of the seed `rule_score_components`. -#}
{{ config(**incremental_by_feature_date()) }}

with

-- incremental like fct_client_features: the clients and dates it rebuilt, or every date when a seed changed
-- (new weights)
to_build as (

    {{ client_dates_to_build(is_incremental()) }}

),

features as (

    select features.*
    from {{ ref('fct_client_features') }} as features
    inner join to_build
        on features.client_id = to_build.client_id and features.feature_date = to_build.feature_date

),

rule_scores as (

    {{ rule_scores('features', ref('rule_score_components'), ref('feature_parameters')) }}

)

select * from rule_scores

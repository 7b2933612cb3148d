{#- The arithmetic is the macro `client_scores`, which applicant scoring runs too. -#}
{{
    config(
        partition_by=({'field': 'score_date', 'data_type': 'date', 'granularity': 'month'}
            if target.type == 'bigquery' else none),
        cluster_by=(['client_id'] if target.type == 'bigquery' else none),
    )
}}

with

model_scores as (

    select * from {{ ref('stg_ml__scores') }}

),

model_reasons as (

    select * from {{ ref('stg_ml__score_reasons') }}

),

-- the dates a model scored, and the latest feature date (scored by the rules when no model has scored it)
score_dates as (

    select distinct feature_date as score_date from model_scores
    union distinct
    select max(feature_date) as score_date from {{ ref('fct_client_features') }}

),

features as (

    select
        features.client_id,
        features.feature_date as score_date,
        features.segment,
        features.utilization_ratio_now,
        features.in_default_at_feature_date
    from {{ ref('fct_client_features') }} as features
    inner join score_dates
        on features.feature_date = score_dates.score_date

),

client_scores as (

    {{ client_scores('features', ref('fct_rule_scores'), 'model_scores', 'model_reasons', {
        'score_scale': ref('score_scale'),
        'ensemble_weights': ref('ensemble_weights'),
        'risk_policy': ref('risk_policy'),
        'score_bands': ref('score_bands'),
        'feature_reasons': ref('feature_reasons'),
        'rule_score_components': ref('rule_score_components'),
    }) }}

)

select * from client_scores

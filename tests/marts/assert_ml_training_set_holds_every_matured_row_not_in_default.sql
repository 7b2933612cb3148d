-- ml_training_set holds exactly the feature rows whose label window is observed and whose client is not in
-- default at the feature date, each with its label.
with

eligible as (

    select
        features.client_id,
        features.feature_date,
        labels.default_next_60d
    from {{ ref('fct_client_features') }} as features
    inner join {{ ref('int_default_labels') }} as labels
        on
            features.client_id = labels.client_id
            and features.feature_date = labels.feature_date
    where labels.label_matured and not features.in_default_at_feature_date

),

training as (

    select
        client_id,
        feature_date,
        default_next_60d
    from {{ ref('ml_training_set') }}

),

missing as (

    select
        'missing from ml_training_set, or with another label' as problem,
        eligible.client_id,
        eligible.feature_date
    from eligible
    left join training
        on
            eligible.client_id = training.client_id
            and eligible.feature_date = training.feature_date
            and eligible.default_next_60d = training.default_next_60d
    where training.client_id is null

),

extra as (

    select
        'in ml_training_set but not eligible' as problem,
        training.client_id,
        training.feature_date
    from training
    left join eligible
        on
            training.client_id = eligible.client_id
            and training.feature_date = eligible.feature_date
    where eligible.client_id is null

)

select
    missing.problem,
    missing.client_id,
    missing.feature_date
from missing
union all
select
    extra.problem,
    extra.client_id,
    extra.feature_date
from extra

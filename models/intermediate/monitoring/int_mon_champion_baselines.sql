-- the champion's reference distributions, each with how its variable is judged and where the history starts:
-- what every drift mart compares with (mon_feature_bins and mon_feature_drift read the features' rows,
-- mon_score_drift the score's)
with

champion as (

    select model_version
    from {{ ref('stg_ml__model_registry') }}
    where status = 'champion'

),

baselines as (

    select * from {{ ref('stg_ml__feature_baselines') }}

),

champion_baselines as (

    select baselines.*
    from baselines
    inner join champion
        on baselines.model_version = champion.model_version

),

-- each variable once, with how it is judged (seed monitored_features; default: against the training baseline)
variables as (

    select
        champion_baselines.variable,
        max(champion_baselines.variable_kind) as variable_kind,
        max(champion_baselines.baseline_null_share) as baseline_null_share,
        max(champion_baselines.reference_start) as reference_start,
        max(coalesce(variable_settings.drift_reference, 'training_baseline')) as drift_reference,
        max(coalesce(variable_settings.window_days, 0)) as window_days,
        max(variable_settings.reason) as setting_reason
    from champion_baselines
    left join {{ ref('monitored_features') }} as variable_settings
        on champion_baselines.variable = variable_settings.feature
    group by champion_baselines.variable

),

-- history starts at the first feature date: a look-back window is incomplete until it fits inside
history as (

    select min(features.feature_date) as first_feature_date
    from {{ ref('fct_client_features') }} as features

)

select
    -- keys
    champion_baselines.model_version,
    champion_baselines.variable,
    champion_baselines.variable_kind,
    champion_baselines.bin_index,

    -- the bin
    champion_baselines.bin_lower,
    champion_baselines.bin_upper,
    champion_baselines.category,

    -- the reference
    champion_baselines.baseline_share,
    champion_baselines.baseline_rows,
    champion_baselines.baseline_null_share,
    champion_baselines.reference_start,
    champion_baselines.reference_end,

    -- the variable: its kind and how it is judged
    variables.variable_kind as judged_kind,
    variables.baseline_null_share as variable_null_share,
    variables.reference_start as variable_reference_start,
    variables.drift_reference,
    variables.window_days,
    variables.setting_reason,

    -- the history
    history.first_feature_date

from champion_baselines
inner join variables
    on champion_baselines.variable = variables.variable
cross join history

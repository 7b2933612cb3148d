-- the champion's feature bins, each with how its feature is judged, and where the history starts: what
-- mon_feature_bins bins the features on and mon_feature_drift judges them with (a few hundred rows, inlined
-- into both as a CTE: no table of its own to build every day)
{{ config(materialized='ephemeral') }}

with

-- the champion's reference distributions of its features (not of its score)
baseline as (

    select baselines.*
    from {{ ref('int_mon_champion_baselines') }} as baselines
    where baselines.variable_kind in ('numeric', 'categorical')

),

-- every feature of the champion, with how it is judged (seed monitored_features; default: the baseline)
monitored as (

    select
        baseline.variable as feature,
        max(baseline.variable_kind) as feature_kind,
        max(baseline.baseline_null_share) as feature_baseline_null_share,
        max(baseline.reference_start) as feature_reference_start,
        max(coalesce(feature_settings.drift_reference, 'training_baseline')) as drift_reference,
        max(coalesce(feature_settings.window_days, 0)) as window_days,
        max(feature_settings.reason) as setting_reason
    from baseline
    left join {{ ref('monitored_features') }} as feature_settings
        on baseline.variable = feature_settings.feature
    group by baseline.variable

),

-- history starts at the first feature date: a look-back window is incomplete until it fits inside
history as (

    select min(features.feature_date) as first_feature_date
    from {{ ref('fct_client_features') }} as features

)

select
    -- keys
    baseline.model_version,
    baseline.variable,
    baseline.bin_index,

    -- the bin and its reference
    baseline.variable_kind,
    baseline.bin_lower,
    baseline.bin_upper,
    baseline.category,
    baseline.baseline_share,
    baseline.baseline_null_share,
    baseline.reference_start,

    -- the feature: its kind, reference and how it is judged
    monitored.feature_kind,
    monitored.feature_baseline_null_share,
    monitored.feature_reference_start,
    monitored.drift_reference,
    monitored.window_days,
    monitored.setting_reason,

    -- the history
    history.first_feature_date

from baseline
inner join monitored
    on baseline.variable = monitored.feature
cross join history

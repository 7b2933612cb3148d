{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_keys'),
        unique_key=['feature_date', 'feature'],
        on_schema_change='fail',
    )
}}

with

-- the champion's reference distributions of its features, each with how it is judged, and where the history
-- starts (int_mon_champion_baselines), and so the champion itself
baseline as (

    select baselines.*
    from {{ ref('int_mon_champion_baselines') }} as baselines
    where baselines.variable_kind in ('numeric', 'categorical')

),

champion as (

    select distinct baseline.model_version from baseline

),

history as (

    select distinct baseline.first_feature_date from baseline

),

-- every feature of the champion, with how it is judged (seed monitored_features; default: the baseline)
monitored as (

    select distinct
        baseline.variable as feature,
        baseline.judged_kind as feature_kind,
        baseline.variable_null_share as baseline_null_share,
        baseline.variable_reference_start as reference_start,
        baseline.drift_reference,
        baseline.window_days,
        baseline.setting_reason
    from baseline

),

bins as (

    select feature_bins.*
    from {{ ref('mon_feature_bins') }} as feature_bins
    inner join champion
        on feature_bins.model_version = champion.model_version

),

dates_to_build as (

    select distinct bins.feature_date
    from bins
    {%- if is_incremental() %}
        -- the newest built date again (a re-run of the day) and every newer date; all when empty
        where bins.feature_date >= (
            select coalesce(max(built.feature_date), cast('1900-01-01' as date)) from {{ this }} as built
        )
    {%- endif %}

),

-- the end of the calendar month before each date's month: the reference of features compared month over month
previous_month_ends as (

    select previous.*
    from {{ ref('int_mon_previous_month_ends') }} as previous
    inner join dates_to_build
        on previous.feature_date = dates_to_build.feature_date

),

value_counts as (

    select distinct
        bins.feature_date,
        bins.feature,
        bins.rows_total,
        bins.rows_null
    from bins

),

bin_shares as (

    select
        bins.feature_date,
        bins.feature,
        bins.bin_index,
        bins.baseline_share,
        bins.rows_in_bin,
        bins.rows_present,
        bins.current_share
    from bins

),

-- the shares at each date to build beside those at the previous month end, on the same bins
compared as (

    select
        current_bins.*,
        previous_month_ends.previous_month_end,
        previous_bins.current_share as previous_share,
        {{ binned_ks_gap(
            'current_bins.current_share', 'current_bins.baseline_share',
            'current_bins.feature_date, current_bins.feature', 'current_bins.bin_index'
        ) }} as ks_gap
    from bin_shares as current_bins
    inner join dates_to_build
        on current_bins.feature_date = dates_to_build.feature_date
    left join previous_month_ends
        on current_bins.feature_date = previous_month_ends.feature_date
    left join bin_shares as previous_bins
        on
            previous_month_ends.previous_month_end = previous_bins.feature_date
            and current_bins.feature = previous_bins.feature
            and current_bins.bin_index = previous_bins.bin_index

),

metrics as (

    select
        compared.feature_date,
        compared.feature,
        max(compared.previous_month_end) as previous_month_end,
        max(compared.rows_present) as rows_present,
        {{ population_stability_index(
            'compared.current_share', 'compared.baseline_share', monitoring_parameter('psi_epsilon')
        ) }} as psi,
        max(compared.ks_gap) as ks_distance,
        {{ jensen_shannon_distance('compared.current_share', 'compared.baseline_share') }} as js_distance,
        {{ chi_square_statistic(
            'compared.rows_in_bin', 'compared.baseline_share', 'compared.rows_present',
            monitoring_parameter('psi_epsilon')
        ) }} as chi_square,
        count(*) - 1 as chi_square_df,
        case
            when max(compared.previous_month_end) is not null
                then {{ population_stability_index(
                    'compared.current_share', 'compared.previous_share', monitoring_parameter('psi_epsilon')
                ) }}
        end as psi_vs_previous_month_end
    from compared
    where compared.rows_present > 0
    group by compared.feature_date, compared.feature

),

judged as (

    select
        value_counts.feature_date,
        value_counts.feature,
        monitored.feature_kind,
        champion.model_version,
        value_counts.rows_total,
        metrics.rows_present,
        cast(value_counts.rows_null as {{ type_double() }}) / value_counts.rows_total as null_share,
        monitored.baseline_null_share,
        metrics.psi,
        case when monitored.feature_kind = 'numeric' then metrics.ks_distance end as ks_distance,
        metrics.js_distance,
        case when monitored.feature_kind = 'categorical' then metrics.chi_square end as chi_square,
        case when monitored.feature_kind = 'categorical' then metrics.chi_square_df end as chi_square_df,
        metrics.previous_month_end,
        metrics.psi_vs_previous_month_end,
        -- the baseline's rows predate a full look-back window (no training date had one): it describes
        -- incomplete windows
        (
            monitored.window_days > 0
            and {{ dbt.datediff('history.first_feature_date', 'monitored.reference_start', 'day') }}
            < monitored.window_days
        ) as baseline_in_warm_up,
        (
            {{ dbt.datediff('history.first_feature_date', 'value_counts.feature_date', 'day') }}
            < monitored.window_days
            -- judged month over month, the previous month end needs a full window too
            or (
                monitored.drift_reference = 'previous_month_end'
                and {{ dbt.datediff('history.first_feature_date', 'metrics.previous_month_end', 'day') }}
                < monitored.window_days
            )
        ) as date_in_warm_up,
        monitored.drift_reference,
        monitored.setting_reason
    from value_counts
    inner join monitored
        on value_counts.feature = monitored.feature
    cross join champion
    cross join history
    left join metrics
        on value_counts.feature_date = metrics.feature_date and value_counts.feature = metrics.feature
    inner join dates_to_build
        on value_counts.feature_date = dates_to_build.feature_date

),

referenced as (

    select
        judged.*,
        case
            when judged.drift_reference = 'previous_month_end' then 'previous_month_end'
            else 'training_baseline'
        end as status_reference
    from judged

),

statused as (

    select
        referenced.*,
        case
            when referenced.status_reference = 'previous_month_end' then referenced.psi_vs_previous_month_end
            else referenced.psi
        end as status_psi
    from referenced

)

select
    -- keys
    cast(statused.feature_date as date) as feature_date,
    cast(statused.feature as {{ dbt.type_string() }}) as feature,
    cast(statused.feature_kind as {{ dbt.type_string() }}) as feature_kind,
    cast(statused.model_version as {{ dbt.type_string() }}) as model_version,

    -- population at the date (clients not in default)
    cast(statused.rows_total as {{ dbt.type_bigint() }}) as rows_total,
    cast(coalesce(statused.rows_present, 0) as {{ dbt.type_bigint() }}) as rows_present,
    cast(statused.null_share as {{ type_double() }}) as null_share,
    cast(statused.baseline_null_share as {{ type_double() }}) as baseline_null_share,

    -- against the champion's training baseline
    cast(statused.psi as {{ type_double() }}) as psi,
    cast(statused.ks_distance as {{ type_double() }}) as ks_distance,
    cast(statused.js_distance as {{ type_double() }}) as js_distance,
    cast(statused.chi_square as {{ type_double() }}) as chi_square,
    cast(statused.chi_square_df as {{ dbt.type_bigint() }}) as chi_square_df,
    cast({{ chi_square_p_value('statused.chi_square', 'statused.chi_square_df') }} as {{ type_double() }})
        as chi_square_p_value,

    -- against the previous month end, on the same bins
    cast(statused.previous_month_end as date) as previous_month_end,
    cast(statused.psi_vs_previous_month_end as {{ type_double() }}) as psi_vs_previous_month_end,

    -- status
    cast(statused.status_reference as {{ dbt.type_string() }}) as status_reference,
    cast(statused.status_psi as {{ type_double() }}) as status_psi,
    cast(case
        when statused.date_in_warm_up then 'warm_up'
        when statused.drift_reference = 'not_alerted' then 'not_judged'
        when statused.drift_reference = 'training_baseline' and statused.baseline_in_warm_up
            then 'no_reference'
        when coalesce(statused.rows_present, 0) < {{ monitoring_parameter('drift_min_rows') }}
            then 'too_few_rows'
        when statused.status_psi is null then 'no_reference'
        when statused.status_psi > {{ monitoring_parameter('psi_alert') }} then 'alert'
        when statused.status_psi >= {{ monitoring_parameter('psi_watch') }} then 'watch'
        else 'stable'
    end as {{ dbt.type_string() }}) as status,
    cast(case
        when statused.date_in_warm_up
            then 'look-back window not yet inside the history: not judged'
        when statused.drift_reference = 'not_alerted'
            then 'reported, not judged: ' || statused.setting_reason
        when coalesce(statused.rows_present, 0) < {{ monitoring_parameter('drift_min_rows') }}
            then 'fewer rows with a value than drift_min_rows: the PSI is sampling noise'
        when statused.drift_reference = 'previous_month_end'
            then 'judged month over month: ' || statused.setting_reason
        when statused.drift_reference = 'training_baseline' and statused.baseline_in_warm_up
            then 'not judged: no training date of the champion had a full look-back window'
        else 'judged against the training baseline'
    end as {{ dbt.type_string() }}) as status_reason

from statused

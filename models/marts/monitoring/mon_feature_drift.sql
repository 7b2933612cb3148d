{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['feature_date', 'feature'],
        on_schema_change='fail',
    )
}}

{%- set feature_columns = feature_mart_columns() %}

with

champion as (

    select model_version
    from {{ ref('stg_ml__model_registry') }}
    where status = 'champion'

),

baseline as (

    select baselines.*
    from {{ ref('stg_ml__feature_baselines') }} as baselines
    inner join champion
        on baselines.model_version = champion.model_version
    where baselines.variable_kind in ('numeric', 'categorical')

),

features as (

    select * from {{ ref('fct_client_features') }}

),

-- history starts at the first feature date: a look-back window is incomplete until it fits inside
history as (

    select min(feature_date) as first_feature_date from features

),

-- every feature of the champion, with how it is judged (seed monitored_features; default: the baseline)
monitored as (

    select
        baseline.variable as feature,
        max(baseline.variable_kind) as feature_kind,
        max(baseline.baseline_null_share) as baseline_null_share,
        max(baseline.reference_start) as reference_start,
        max(coalesce(feature_settings.drift_reference, 'training_baseline')) as drift_reference,
        max(coalesce(feature_settings.window_days, 0)) as window_days,
        max(feature_settings.reason) as setting_reason
    from baseline
    left join {{ ref('monitored_features') }} as feature_settings
        on baseline.variable = feature_settings.feature
    group by baseline.variable

),

dates_to_build as (

    select distinct features.feature_date
    from features
    {%- if is_incremental() %}
        -- the newest built date again (a re-run of the day) and every newer date; all when empty
        where features.feature_date >= (
            select coalesce(max(built.feature_date), cast('1900-01-01' as date)) from {{ this }} as built
        )
    {%- endif %}

),

month_ends as (

    select distinct features.feature_date
    from features
    where features.is_month_end

),

-- the end of the calendar month before each date's month: the reference of features compared month over month
previous_month_ends as (

    select
        dates_to_build.feature_date,
        max(month_ends.feature_date) as previous_month_end
    from dates_to_build
    inner join month_ends
        on month_ends.feature_date < {{ dbt.date_trunc('month', 'dates_to_build.feature_date') }}
    group by dates_to_build.feature_date

),

dates_to_bin as (

    select feature_date from dates_to_build
    union distinct
    select previous_month_end as feature_date from previous_month_ends

),

-- the population the model scores (and its baseline describes): clients not already in default
population as (

    select features.*
    from features
    inner join dates_to_bin
        on features.feature_date = dates_to_bin.feature_date
    where not features.in_default_at_feature_date

),

-- one row per client, date and feature: each column read alone, so a columnar engine scans it once
feature_values as (

    {%- for name, kind, data_type in feature_columns %}
        select
            population.feature_date,
            '{{ name }}' as feature,
            {%- if kind == 'categorical' %}
                cast(null as {{ type_double() }}) as numeric_value,
                cast(population.{{ name }} as {{ dbt.type_string() }}) as category_value
            {%- elif data_type == 'boolean' %}
                case when population.{{ name }} then 1.0 when not population.{{ name }} then 0.0 end
                    as numeric_value,
                cast(null as {{ dbt.type_string() }}) as category_value
            {%- else %}
                cast(population.{{ name }} as {{ type_double() }}) as numeric_value,
                cast(null as {{ dbt.type_string() }}) as category_value
            {%- endif %}
        from population
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

value_counts as (

    select
        feature_values.feature_date,
        feature_values.feature,
        count(*) as rows_total,
        sum(
            case
                when feature_values.numeric_value is null and feature_values.category_value is null
                    then 1
                else 0
            end
        ) as rows_null
    from feature_values
    inner join monitored
        on feature_values.feature = monitored.feature
    group by feature_values.feature_date, feature_values.feature

),

-- each non-null value in its baseline bin: (lower, upper] for numbers, its own bin for a known category
numeric_binned as (

    select
        feature_values.feature_date,
        feature_values.feature,
        baseline.bin_index,
        count(*) as rows_in_bin
    from feature_values
    inner join baseline
        on
            feature_values.feature = baseline.variable
            and baseline.variable_kind = 'numeric'
            and (baseline.bin_lower is null or feature_values.numeric_value > baseline.bin_lower)
            and (baseline.bin_upper is null or feature_values.numeric_value <= baseline.bin_upper)
    where feature_values.numeric_value is not null
    group by feature_values.feature_date, feature_values.feature, baseline.bin_index

),

-- a category the baseline never saw goes to bin -1, whose baseline share is 0
categorical_binned as (

    select
        feature_values.feature_date,
        feature_values.feature,
        coalesce(baseline.bin_index, -1) as bin_index,
        count(*) as rows_in_bin
    from feature_values
    inner join monitored
        on feature_values.feature = monitored.feature and monitored.feature_kind = 'categorical'
    left join baseline
        on
            feature_values.feature = baseline.variable
            and feature_values.category_value = baseline.category
    where feature_values.category_value is not null
    group by feature_values.feature_date, feature_values.feature, coalesce(baseline.bin_index, -1)

),

binned as (

    select * from numeric_binned
    union all
    select * from categorical_binned

),

-- every date and bin of the baseline (empty bins too), plus the unseen-category bins that occur
bin_grid as (

    select
        value_counts.feature_date,
        baseline.variable as feature,
        baseline.bin_index,
        baseline.baseline_share
    from value_counts
    inner join baseline
        on value_counts.feature = baseline.variable
    union all
    select
        binned.feature_date,
        binned.feature,
        binned.bin_index,
        0.0 as baseline_share
    from binned
    where binned.bin_index = -1

),

bin_shares as (

    select
        bin_grid.feature_date,
        bin_grid.feature,
        bin_grid.bin_index,
        bin_grid.baseline_share,
        coalesce(binned.rows_in_bin, 0) as rows_in_bin,
        value_counts.rows_total - value_counts.rows_null as rows_present,
        cast(coalesce(binned.rows_in_bin, 0) as {{ type_double() }})
        / nullif(value_counts.rows_total - value_counts.rows_null, 0) as current_share
    from bin_grid
    inner join value_counts
        on bin_grid.feature_date = value_counts.feature_date and bin_grid.feature = value_counts.feature
    left join binned
        on
            bin_grid.feature_date = binned.feature_date
            and bin_grid.feature = binned.feature
            and bin_grid.bin_index = binned.bin_index

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
        {{ dbt.datediff('history.first_feature_date', 'value_counts.feature_date', 'day') }}
        < monitored.window_days as date_in_warm_up,
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
            when judged.drift_reference = 'previous_month_end' or judged.baseline_in_warm_up
                then 'previous_month_end'
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
        when statused.baseline_in_warm_up
            then 'judged month over month: the baseline rows predate a full look-back window'
        else 'judged against the training baseline'
    end as {{ dbt.type_string() }}) as status_reason

from statused

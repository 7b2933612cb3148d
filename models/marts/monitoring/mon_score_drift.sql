{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_keys'),
        unique_key=['score_date', 'score_variable'],
        on_schema_change='fail',
    )
}}

with

-- the champion's reference distributions (int_mon_champion_baselines), and so the champion itself
baseline as (

    select baselines.*
    from {{ ref('int_mon_champion_baselines') }} as baselines
    where baselines.variable_kind = 'score'

),

champion as (

    select distinct baseline.model_version from baseline

),

-- the champion's own scores: another model's probabilities are another distribution
scores as (

    select model_scores.*
    from {{ ref('stg_ml__scores') }} as model_scores
    inner join champion
        on model_scores.model_version = champion.model_version
    {%- if is_incremental() %}
        -- the newest built date again (a re-run of the day) and every newer date; all when empty
        where model_scores.feature_date >= (
            select coalesce(max(built.score_date), cast('1900-01-01' as date)) from {{ this }} as built
        )
    {%- endif %}

),

score_values as (

    select
        scores.feature_date as score_date,
        'model_probability' as score_variable,
        scores.model_probability as score_value
    from scores
    union all
    select
        scores.feature_date as score_date,
        'model_margin' as score_variable,
        scores.model_margin as score_value
    from scores

),

value_counts as (

    select
        score_values.score_date,
        score_values.score_variable,
        count(*) as rows_total,
        sum(case when score_values.score_value is null then 1 else 0 end) as rows_null,
        avg(score_values.score_value) as mean_value
    from score_values
    group by score_values.score_date, score_values.score_variable

),

binned as (

    {{ count_in_numeric_bins('score_values', 'baseline', 'score_date', 'score_variable', 'score_value') }}

),

bin_shares as (

    select
        value_counts.score_date,
        value_counts.score_variable,
        baseline.bin_index,
        baseline.baseline_share,
        cast(coalesce(binned.rows_in_bin, 0) as {{ type_double() }})
        / nullif(value_counts.rows_total - value_counts.rows_null, 0) as current_share
    from value_counts
    inner join baseline
        on value_counts.score_variable = baseline.variable
    left join binned
        on
            value_counts.score_date = binned.score_date
            and value_counts.score_variable = binned.score_variable
            and baseline.bin_index = binned.bin_index

),

gaps as (

    select
        bin_shares.*,
        {{ binned_ks_gap(
            'bin_shares.current_share', 'bin_shares.baseline_share',
            'bin_shares.score_date, bin_shares.score_variable', 'bin_shares.bin_index'
        ) }} as ks_gap
    from bin_shares

),

metrics as (

    select
        gaps.score_date,
        gaps.score_variable,
        {{ population_stability_index(
            'gaps.current_share', 'gaps.baseline_share', monitoring_parameter('psi_epsilon')
        ) }} as psi,
        max(gaps.ks_gap) as ks_distance,
        {{ jensen_shannon_distance('gaps.current_share', 'gaps.baseline_share') }} as js_distance
    from gaps
    group by gaps.score_date, gaps.score_variable

)

select
    -- keys
    cast(value_counts.score_date as date) as score_date,
    cast(value_counts.score_variable as {{ dbt.type_string() }}) as score_variable,
    cast(champion.model_version as {{ dbt.type_string() }}) as model_version,

    -- the clients the champion scored at the date
    cast(value_counts.rows_total as {{ dbt.type_bigint() }}) as rows_total,
    cast(value_counts.rows_null as {{ type_double() }}) / value_counts.rows_total as null_share,
    cast(value_counts.mean_value as {{ type_double() }}) as mean_value,

    -- against the champion's training baseline
    cast(metrics.psi as {{ type_double() }}) as psi,
    cast(metrics.ks_distance as {{ type_double() }}) as ks_distance,
    cast(metrics.js_distance as {{ type_double() }}) as js_distance,
    cast(case
        when metrics.psi is null then 'no_reference'
        when metrics.psi > {{ monitoring_parameter('psi_alert') }} then 'alert'
        when metrics.psi >= {{ monitoring_parameter('psi_watch') }} then 'watch'
        else 'stable'
    end as {{ dbt.type_string() }}) as status

from value_counts
cross join champion
left join metrics
    on value_counts.score_date = metrics.score_date and value_counts.score_variable = metrics.score_variable

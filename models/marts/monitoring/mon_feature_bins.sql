{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_dates'),
        unique_key='feature_date',
        on_schema_change='fail',
        **date_partitioning('feature_date', 'day')
    )
}}

{%- set feature_columns = feature_mart_columns() %}

with

-- the champion's reference distributions of its features (int_mon_champion_baselines), and so the champion
baseline as (

    select baselines.*
    from {{ ref('int_mon_champion_baselines') }} as baselines
    where baselines.variable_kind in ('numeric', 'categorical')

),

champion as (

    select distinct baseline.model_version from baseline

),

-- every feature of the champion
monitored as (

    select distinct
        baseline.variable as feature,
        baseline.judged_kind as feature_kind
    from baseline

),

dates_to_build as (

    select distinct features.feature_date
    from {{ ref('fct_client_features') }} as features
    {%- if is_incremental() %}
        -- the newest built date again (a re-run of the day) and every newer date; all when empty
        where features.feature_date >= (
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

dates_to_bin as (

    select feature_date from dates_to_build
    union distinct
    select previous_month_end as feature_date from previous_month_ends

),

-- the population the model scores (and its baseline describes): clients not already in default, at the dates
-- to bin only (the feature mart is read here and in dates_to_build, never whole into a shared CTE)
population as (

    select features.*
    from {{ ref('fct_client_features') }} as features
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
-- categorical features have no numeric value, so they count in no numeric bin
numeric_binned as (

    {{ count_in_numeric_bins('feature_values', 'baseline', 'feature_date', 'feature', 'numeric_value') }}

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

)

select
    -- keys
    cast(bin_shares.feature_date as date) as feature_date,
    cast(bin_shares.feature as {{ dbt.type_string() }}) as feature,
    cast(bin_shares.bin_index as {{ dbt.type_bigint() }}) as bin_index,
    cast(monitored.feature_kind as {{ dbt.type_string() }}) as feature_kind,
    cast(champion.model_version as {{ dbt.type_string() }}) as model_version,

    -- the bin
    cast(case
        when bin_shares.bin_index = -1 then 'unseen category'
        when monitored.feature_kind = 'categorical' then baseline.category
        when baseline.bin_lower is null and baseline.bin_upper is null then 'all values'
        when baseline.bin_lower is null then '<= ' || cast(baseline.bin_upper as {{ dbt.type_string() }})
        when baseline.bin_upper is null then '> ' || cast(baseline.bin_lower as {{ dbt.type_string() }})
        else '(' || cast(baseline.bin_lower as {{ dbt.type_string() }}) || ', '
            || cast(baseline.bin_upper as {{ dbt.type_string() }}) || ']'
    end as {{ dbt.type_string() }}) as bin_label,
    cast(baseline.bin_lower as {{ type_double() }}) as bin_lower,
    cast(baseline.bin_upper as {{ type_double() }}) as bin_upper,
    cast(baseline.category as {{ dbt.type_string() }}) as category,

    -- shares: of the clients not in default with a value
    cast(bin_shares.baseline_share as {{ type_double() }}) as baseline_share,
    cast(bin_shares.current_share as {{ type_double() }}) as current_share,
    cast(bin_shares.rows_in_bin as {{ dbt.type_bigint() }}) as rows_in_bin,
    cast(bin_shares.rows_present as {{ dbt.type_bigint() }}) as rows_present,
    cast(value_counts.rows_total as {{ dbt.type_bigint() }}) as rows_total,
    cast(value_counts.rows_null as {{ dbt.type_bigint() }}) as rows_null

from bin_shares
inner join monitored
    on bin_shares.feature = monitored.feature
inner join value_counts
    on bin_shares.feature_date = value_counts.feature_date and bin_shares.feature = value_counts.feature
cross join champion
left join baseline
    on bin_shares.feature = baseline.variable and bin_shares.bin_index = baseline.bin_index

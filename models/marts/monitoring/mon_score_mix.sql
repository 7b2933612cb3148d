{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy_for('replace_keys'),
        unique_key=['score_date', 'dimension', 'level_name'],
        on_schema_change='fail',
    )
}}

with

scores as (

    select client_scores.*
    from {{ ref('fct_client_scores') }} as client_scores
    {%- if is_incremental() %}
        -- the newest built date again (a re-run of the day) and every newer date; all when empty
        where client_scores.score_date >= (
            select coalesce(max(built.score_date), cast('1900-01-01' as date)) from {{ this }} as built
        )
    {%- endif %}

),

-- the feature mart's rows of the dates to build only (a daily run reads one date, not the whole history)
features as (

    select
        client_features.client_id,
        client_features.feature_date,
        client_features.outstanding
    from {{ ref('fct_client_features') }} as client_features
    {%- if is_incremental() %}
        where client_features.feature_date >= (
            select coalesce(max(built.score_date), cast('1900-01-01' as date)) from {{ this }} as built
        )
    {%- endif %}

),

-- what each client owes at the date: the exposure behind each level
scored as (

    select
        scores.score_date,
        scores.risk_level,
        scores.score_band,
        features.outstanding
    from scores
    left join features
        on scores.client_id = features.client_id and scores.score_date = features.feature_date

),

levels as (

    select
        score_date,
        'risk_level' as dimension,
        risk_level as level_name,
        count(*) as clients,
        sum(coalesce(outstanding, 0)) as outstanding
    from scored
    group by score_date, risk_level
    union all
    select
        score_date,
        'score_band' as dimension,
        score_band as level_name,
        count(*) as clients,
        sum(coalesce(outstanding, 0)) as outstanding
    from scored
    group by score_date, score_band

)

select
    -- keys
    cast(score_date as date) as score_date,
    cast(dimension as {{ dbt.type_string() }}) as dimension,
    cast(level_name as {{ dbt.type_string() }}) as level_name,

    -- clients and exposure
    cast(clients as {{ dbt.type_bigint() }}) as clients,
    cast(clients as {{ type_double() }})
    / sum(clients) over (partition by score_date, dimension) as client_share,
    cast(outstanding as {{ type_double() }}) as outstanding,
    cast(outstanding as {{ type_double() }})
    / nullif(sum(outstanding) over (partition by score_date, dimension), 0) as outstanding_share

from levels

-- the champion's reference distributions: what every drift mart compares with (a few hundred rows, inlined
-- into each as a CTE: no table of its own to build every day)
{{ config(materialized='ephemeral') }}

with

champion as (

    select model_version
    from {{ ref('stg_ml__model_registry') }}
    where status = 'champion'

),

baselines as (

    select * from {{ ref('stg_ml__feature_baselines') }}

)

select
    -- keys
    baselines.model_version,
    baselines.variable,
    baselines.variable_kind,
    baselines.bin_index,

    -- the bin
    baselines.bin_lower,
    baselines.bin_upper,
    baselines.category,

    -- the reference
    baselines.baseline_share,
    baselines.baseline_rows,
    baselines.baseline_null_share,
    baselines.reference_start,
    baselines.reference_end

from baselines
inner join champion
    on baselines.model_version = champion.model_version

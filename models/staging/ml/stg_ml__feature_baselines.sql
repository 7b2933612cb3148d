{{ config(materialized='view') }}

-- ml.ml_feature_baselines appears with the first trained model; until then this reads as an empty, typed
-- relation and the monitoring marts have nothing to compare with (the scoring build re-creates the view)
with

source as (

    select * from {{ relation_exists_or_empty(source('ml', 'ml_feature_baselines'),
        "select cast(null as " ~ dbt.type_string() ~ ") as model_version,
        cast(null as " ~ dbt.type_string() ~ ") as variable, cast(null as " ~ dbt.type_string() ~ ") as variable_kind,
        cast(null as " ~ dbt.type_bigint() ~ ") as bin_index, cast(null as " ~ type_double() ~ ") as bin_lower,
        cast(null as " ~ type_double() ~ ") as bin_upper, cast(null as " ~ dbt.type_string() ~ ") as category,
        cast(null as " ~ type_double() ~ ") as baseline_share, cast(null as " ~ dbt.type_bigint() ~ ") as baseline_rows,
        cast(null as " ~ type_double() ~ ") as baseline_null_share,
        cast(null as date) as reference_start, cast(null as date) as reference_end,
        cast(null as " ~ dbt.type_bigint() ~ ") as bins_requested,
        cast(null as " ~ dbt.type_timestamp() ~ ") as created_at where 1 = 0") }}

),

renamed as (

    select
        -- ids
        model_version,
        variable,
        variable_kind,
        bin_index,

        -- bin
        bin_lower,
        bin_upper,
        category,

        -- reference distribution
        baseline_share,
        baseline_rows,
        baseline_null_share,
        bins_requested,

        -- dates
        reference_start,
        reference_end,
        created_at

    from source

)

select * from renamed

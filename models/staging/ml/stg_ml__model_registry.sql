{{ config(materialized='view') }}

-- ml.ml_model_registry appears with the first trained model; until then this reads as an empty, typed
-- relation (the scoring build re-creates the view after training)
with

source as (

    select * from {{ relation_exists_or_empty(source('ml', 'ml_model_registry'),
        "select cast(null as " ~ dbt.type_string() ~ ") as model_version,
        cast(null as " ~ dbt.type_string() ~ ") as status, cast(null as " ~ dbt.type_timestamp() ~ ") as trained_at,
        cast(null as date) as as_of_date, cast(null as date) as train_start, cast(null as date) as train_end,
        cast(null as date) as test_start, cast(null as date) as test_end,
        cast(null as " ~ type_double() ~ ") as test_auc, cast(null as " ~ type_double() ~ ") as test_gini,
        cast(null as " ~ type_double() ~ ") as test_ks, cast(null as " ~ type_double() ~ ") as test_brier
        where 1 = 0") }}

),

renamed as (

    select
        -- ids
        model_version,
        status,

        -- dates
        trained_at,
        as_of_date,
        train_start,
        train_end,
        test_start,
        test_end,

        -- out-of-time test metrics
        test_auc,
        test_gini,
        test_ks,
        test_brier

    from source

)

select * from renamed

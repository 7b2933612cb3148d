{{ config(materialized='view') }}

-- ml.ml_score_reasons appears with the first `riskmart score`; until then this reads as an empty, typed
-- relation (the scoring build re-creates the view after scoring)
with

source as (

    select * from {{ relation_exists_or_empty(source('ml', 'ml_score_reasons'),
        "select cast(null as " ~ dbt.type_string() ~ ") as client_id, cast(null as date) as feature_date,
        cast(null as " ~ dbt.type_bigint() ~ ") as rank, cast(null as " ~ dbt.type_string() ~ ") as feature,
        cast(null as " ~ dbt.type_string() ~ ") as feature_value,
        cast(null as " ~ type_double() ~ ") as contribution where 1 = 0") }}

),

renamed as (

    select
        -- ids
        client_id,

        -- dates
        feature_date,

        -- reason
        rank,  -- noqa: RF04 (the ML layer names it so)
        feature,
        feature_value,
        contribution

    from source

)

select * from renamed

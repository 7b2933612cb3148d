{{ config(materialized='view') }}

-- ml.ml_scores appears with the first `riskmart score`; until then this reads as an empty, typed relation,
-- and the scored mart scores every client by the rules (the scoring build re-creates the view after scoring)
with

source as (

    select * from {{ relation_exists_or_empty(source('ml', 'ml_scores'),
        "select cast(null as " ~ dbt.type_string() ~ ") as client_id, cast(null as date) as feature_date,
        cast(null as " ~ type_double() ~ ") as model_probability, cast(null as " ~ type_double() ~ ") as model_margin,
        cast(null as " ~ dbt.type_string() ~ ") as model_version, cast(null as " ~ dbt.type_string() ~ ") as contributions,
        cast(null as " ~ type_double() ~ ") as bias, cast(null as " ~ dbt.type_timestamp() ~ ") as scored_at
        where 1 = 0") }}

),

renamed as (

    select
        -- ids
        client_id,
        model_version,

        -- dates
        feature_date,
        scored_at,

        -- model output
        model_probability,
        model_margin,
        contributions,
        bias

    from source

)

select * from renamed

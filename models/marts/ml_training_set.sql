-- a view: the ML package reads it once per training; writing 230,000 rows x 80 columns as a table every day
-- cost more than the join it holds
{{ config(materialized='view') }}

with

features as (

    select * from {{ ref('fct_client_features') }}

),

labels as (

    select
        client_id,
        feature_date,
        default_next_60d
    from {{ ref('int_default_labels') }}
    -- only fully observed windows: an immature row is neither trained nor evaluated on
    where label_matured

)

select
    features.*,
    cast(labels.default_next_60d as {{ dbt.type_int() }}) as default_next_60d
from features
inner join labels
    on
        features.client_id = labels.client_id
        and features.feature_date = labels.feature_date
-- a client already in default has nothing left to predict
where not features.in_default_at_feature_date

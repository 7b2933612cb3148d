{#- Fails with every (client_id, feature_date) that is in the model but not in the client spine
    `int_client_feature_dates`, or in the spine but not in the model: a feature family or mart that drops or
    invents rows breaks the one-row-per-client-per-date promise. -#}
{% test rows_match_client_spine(model) %}

    with

    model_keys as (
        select client_id, feature_date from {{ model }}
    ),

    spine_keys as (
        select client_id, feature_date from {{ ref('int_client_feature_dates') }}
    ),

    missing_from_model as (
        select spine_keys.client_id, spine_keys.feature_date, 'missing from the model' as problem
        from spine_keys
        left join model_keys
            on spine_keys.client_id = model_keys.client_id and spine_keys.feature_date = model_keys.feature_date
        where model_keys.client_id is null
    ),

    not_in_spine as (
        select model_keys.client_id, model_keys.feature_date, 'not in the client spine' as problem
        from model_keys
        left join spine_keys
            on spine_keys.client_id = model_keys.client_id and spine_keys.feature_date = model_keys.feature_date
        where spine_keys.client_id is null
    )

    select * from missing_from_model
    union all
    select * from not_in_spine

{% endtest %}

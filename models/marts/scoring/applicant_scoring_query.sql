{#- The queries applicant scoring runs in-process (scoring/applicant.py, DuckDB): the macros `rule_scores` and
    `client_scores` that build fct_rule_scores and fct_client_scores, rendered over the relations the
    scorer provides: `applicant_features` (the applicant's feature row), `model_scores` and `model_reasons`
    (the champion's output for it, empty without one) and the published seeds under their own names. -#}
-- depends_on: {{ ref('rule_score_components') }}
{%- set seeds = {} %}
{%- for name in ['score_scale', 'ensemble_weights', 'risk_policy', 'score_bands', 'feature_reasons',
    'rule_score_components'] %}
    {%- do seeds.update({name: name}) %}
{%- endfor %}
{%- set features = '(select client_id, feature_date as score_date, segment, utilization_ratio_now,'
    ~ ' in_default_at_feature_date from applicant_features)' %}

{%- set rules_query = rule_scores('applicant_features', 'rule_score_components', 'feature_parameters') %}
{%- set scores_query = client_scores(
    features, 'applicant_rule_scores', 'model_scores', 'model_reasons', seeds
) %}

-- step 1 is kept as the table `applicant_rule_scores`, which step 2 reads
select
    1 as step,
    'applicant_rule_scores' as creates_table,
    {{ sql_text_literal(rules_query) }} as query
union all
select
    2 as step,
    cast(null as {{ dbt.type_string() }}) as creates_table,
    {{ sql_text_literal(scores_query) }} as query

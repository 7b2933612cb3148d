-- PII (client name, tax id), even hashed, never reaches the feature mart or its intermediate models.
{%- set models = [
    ref('int_client_feature_dates'),
    ref('int_client_payment_features'),
    ref('int_client_invoice_features'),
    ref('int_client_order_features'),
    ref('int_client_credit_features'),
    ref('int_client_plan_features'),
    ref('int_client_bureau_features'),
    ref('int_default_labels'),
    ref('fct_client_features'),
    ref('fct_rule_scores'),
    ref('ml_training_set'),
] -%}
{%- set offending = [] -%}
{%- if execute -%}
    {%- for relation in models -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if 'client_name' in column.name | lower or 'tax_id' in column.name | lower -%}
                {%- do offending.append((relation.identifier, column.name)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}

{% if offending -%}
    {%- for model_name, column_name in offending %}
        select
            '{{ model_name }}' as model_name,
            '{{ column_name }}' as column_name
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as column_name
    where 1 = 0
{%- endif %}

-- The raw client name and tax id must not leave raw: no staging model may carry a column of that name.
{%- set pii_columns = ['client_name', 'tax_id'] -%}
{%- set staging_models = [
    ref('stg_lender__clients'),
    ref('stg_lender__payments'),
    ref('stg_lender__orders'),
    ref('stg_lender__utilization_months'),
    ref('stg_lender__payment_plans'),
    ref('stg_hcpn__bureau_reports'),
] -%}
{%- set offending = [] -%}
{%- if execute -%}
    {%- for relation in staging_models -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower in pii_columns -%}
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

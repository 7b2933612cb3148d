{#- The latest data date as a literal date string, from var `as_of_date`, else the environment variable
    RISKMART_AS_OF_DATE (the daily cycle sets it: a var that changes every day would make dbt re-parse the
    whole project on every run, an environment variable read at run time does not), or none when neither is
    set. The value is checked before it reaches SQL: only a real YYYY-MM-DD date passes. -#}
{% macro as_of_date_var() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value == '' -%}
        {%- set value = env_var('RISKMART_AS_OF_DATE', '') -%}
    {%- endif -%}
    {%- if value is none or value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("as_of_date (var as_of_date or env RISKMART_AS_OF_DATE) must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
    {{ return(parsed.strftime('%Y-%m-%d')) }}
{%- endmacro %}

{#- SQL expression of the latest data date: var `as_of_date` when set, else the newest client export in
    staging. Nothing after it may be used, even when the warehouse holds later deliveries. -#}
{% macro latest_data_date() -%}
    {%- set as_of = as_of_date_var() -%}
    {%- set clients = ref('stg_lender__clients') -%}
    {%- if as_of is not none -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        (select max(export_date) from {{ clients }})
    {%- endif -%}
{%- endmacro %}

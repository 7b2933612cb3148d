{#- Fail when the target is a production one (var production_targets) and RISKMART_PII_SALT is unset, empty or
    the development salt. Called by pii_salt (so at parse time, before dbt connects) and by the on-run-start
    hooks (before any node runs). -#}
{% macro refuse_development_salt() -%}
    {%- set salt = env_var('RISKMART_PII_SALT', development_pii_salt()) -%}
    {%- if target.name in var('production_targets', []) and salt in ['', development_pii_salt()] -%}
        {{ exceptions.raise_compiler_error(
            "target '" ~ target.name ~ "' is a production target (var production_targets) and RISKMART_PII_SALT"
            ~ " is unset, empty or the development salt '" ~ development_pii_salt() ~ "', whose hashes anyone can"
            ~ " recompute: set RISKMART_PII_SALT to a long random secret, the same on every run (it keys every"
            ~ " client's name and tax id hash)"
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- Salted sha256 (lowercase hex) of a PII value, identical on every engine; NULL stays NULL. -#}
{% macro hash_pii(column, salt=none) -%}
    {{ return(adapter.dispatch('hash_pii', 'riskmart')(column, pii_salt(salt))) }}
{%- endmacro %}

{#- The salt as a SQL-safe string: the argument, else RISKMART_PII_SALT, else the development salt (which a
    production target refuses). -#}
{% macro pii_salt(salt=none) -%}
    {%- if salt is none -%}
        {%- do refuse_development_salt() -%}
    {%- endif -%}
    {%- set value = salt if salt is not none else env_var('RISKMART_PII_SALT', development_pii_salt()) -%}
    {#- The salt is rendered as a literal, so refuse characters that could end or escape it on any engine. -#}
    {%- if "'" in value or "\\" in value or "\n" in value -%}
        {{ exceptions.raise_compiler_error("RISKMART_PII_SALT must not contain quotes, backslashes or line breaks") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro default__hash_pii(column, salt) -%}
    {#- An untested engine must not silently produce hashes that differ from DuckDB's and BigQuery's. -#}
    {{ exceptions.raise_compiler_error("hash_pii has no implementation for adapter '" ~ adapter.type() ~ "'") }}
{%- endmacro %}

{% macro duckdb__hash_pii(column, salt) -%}
    case
        when {{ column }} is not null
            then sha256('{{ salt }}' || cast({{ column }} as varchar))
    end
{%- endmacro %}

{% macro bigquery__hash_pii(column, salt) -%}
    case
        when {{ column }} is not null
            then to_hex(sha256(concat('{{ salt }}', cast({{ column }} as string))))
    end
{%- endmacro %}

{#- The salt of development and tests: public (it is in this file), so anyone could recompute its hashes. -#}
{% macro development_pii_salt() -%}
    {{ return('riskmart-dev-salt') }}
{%- endmacro %}

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

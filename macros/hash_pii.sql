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

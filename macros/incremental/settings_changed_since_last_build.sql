{#- True when this incremental model must rebuild every feature date: the seeds upstream of it changed since
    its last recorded build, or no build (or no ingest watermark) was recorded. -#}
{% macro settings_changed_since_last_build() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set last = last_build_settings() -%}
    {{ return(last is none or last.ingested_through is none
        or last.settings_fingerprint != settings_fingerprint()) }}
{%- endmacro %}

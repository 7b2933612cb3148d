{#- True when this incremental model must rebuild every feature date: the seeds upstream of it changed since
    its last recorded build, or no build (or no ingest watermark) was recorded. -#}
{% macro settings_changed_since_last_build() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {#- asked by the model's SQL and by its post-hooks: answered once per invocation (build_settings_memo) -#}
    {%- set memo = build_settings_memo() -%}
    {%- if 'settings_changed' not in memo -%}
        {%- set last = last_build_settings() -%}
        {%- do memo.update({'settings_changed': last is none or last.ingested_through is none
            or last.settings_fingerprint != settings_fingerprint()}) -%}
    {%- endif -%}
    {{ return(memo['settings_changed']) }}
{%- endmacro %}

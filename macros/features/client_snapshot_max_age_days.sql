{#- Age in days beyond which a client's newest snapshot no longer counts: the export is a full snapshot
    every day, so a client missing from all of the last `client_snapshot_max_age_days` (var, default 31)
    is no longer a client; a few days of outage or of quarantined rows do not drop anyone. -#}
{% macro client_snapshot_max_age_days() -%}
    {%- set value = var('client_snapshot_max_age_days', 31) -%}
    {%- if value is not number or value < 0 or value != (value | int) -%}
        {{ exceptions.raise_compiler_error(
            "var client_snapshot_max_age_days must be a non-negative integer, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}

{#- `relation`, or `(empty_select)` when the relation does not exist yet. The ML tables appear only after the
    first `riskmart score`; before that their staging views (`stg_ml__scores`, `stg_ml__score_reasons`) read
    as empty, typed relations and the scored mart falls back to the rule score. -#}
{% macro relation_exists_or_empty(relation, empty_select) -%}
    {%- if execute and load_relation(relation) is none -%}
        ({{ empty_select }})
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

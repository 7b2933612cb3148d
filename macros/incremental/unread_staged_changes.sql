{#- SQL of a subquery: the rows of the staged change log `staged_changes` (a ref of
    `stg_riskmart_meta__staged_changes`, which the caller names before any early return so that dbt records it
    as a parent) that the model being built has not read yet: those with a client, logged after the ingest
    watermark its last build recorded (`ingested_through_last_build`). Columns client_id, first_affected_date.
    The one definition of what a reader consumes: `prune_staged_changes` deletes only rows at or below every
    reader's watermark. -#}
{% macro unread_staged_changes(staged_changes) -%}
    select
        changes.client_id,
        changes.first_affected_date
    from {{ staged_changes }} as changes
    where changes.client_id is not null and changes.ingested_through > {{ ingested_through_last_build() }}
{%- endmacro %}

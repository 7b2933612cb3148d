{#- The rows of the client spine (`int_client_feature_dates`: client_id, feature_date) an incremental feature
    model builds in this run: every client at the dates of `feature_dates_to_build`, plus, for each client
    whose staged events changed since the model's last build (`log_staged_changes`: a new, late, corrected
    or withdrawn payment or order), that client's dates on or after the earliest changed event. A late
    payment rebuilds its client's last days, not every client's. Models keyed by (client_id, feature_date)
    use it; usage as the first CTE of a feature family:
    `client_dates as ({% raw %}{{ client_dates_to_build(is_incremental()) }}{% endraw %})`. -#}
{% macro client_dates_to_build(incremental) -%}
    {%- set spine = ref('int_client_feature_dates') -%}
    {%- set staged_changes = ref('stg_riskmart_meta__staged_changes') -%}
    select
        spine.client_id,
        spine.feature_date
    from {{ spine }} as spine
    where spine.feature_date in ({{ feature_dates_to_build(incremental) }})
    {%- if incremental and not settings_changed_since_last_build() %}

    union distinct

    select
        spine.client_id,
        spine.feature_date
    from {{ spine }} as spine
    inner join (
        select
            unread.client_id,
            min(unread.first_affected_date) as first_affected_date
        from ({{ unread_staged_changes(staged_changes) }}) as unread
        group by unread.client_id
    ) as changed_clients
        on
            spine.client_id = changed_clients.client_id
            and spine.feature_date >= changed_clients.first_affected_date
    {%- endif %}
{%- endmacro %}

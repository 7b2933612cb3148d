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

{#- Number of trailing days that get a daily feature date (var `daily_feature_days`, a non-negative integer). -#}
{% macro daily_feature_days() -%}
    {%- set value = var('daily_feature_days', 31) -%}
    {%- if value is not number or value < 0 or value != (value | int) -%}
        {{ exceptions.raise_compiler_error("var daily_feature_days must be a non-negative integer, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}

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

{#- The feature dates an incremental feature model computes for every client in this run: every date of the
    spine on a full build; on an incremental build the dates it does not hold yet, plus every date on or
    after the first date a snapshot-like delivery loaded since its last build can change
    (`int_delivery_impact`: a client, utilization or plan export's date, a bureau report's fecha_consulta),
    and every date when a staging model was rebuilt whole since then (`log_full_restage`). Every date is
    built again when a seed upstream changed since the last build (`settings_changed_since_last_build`).
    Events (payments, orders) change single clients: `client_dates_to_build` adds those. Pass
    `is_incremental()` from the model, so that unit tests can override it. -#}
{% macro feature_dates_to_build(incremental) -%}
    {#- called unconditionally, so that dbt records the dependencies at parse time -#}
    {%- set delivery_impact = ref('int_delivery_impact') -%}
    {%- set staged_changes = ref('stg_riskmart_meta__staged_changes') -%}
    select feature_dates.feature_date
    from {{ ref('int_feature_dates') }} as feature_dates
    {%- if incremental and not settings_changed_since_last_build() %}
    {%- set watermark = ingested_through_last_build() %}
    where
        feature_dates.feature_date not in (select built.feature_date from {{ this }} as built)
        or feature_dates.feature_date >= (
            select min(impact.first_affected_date)
            from {{ delivery_impact }} as impact
            where impact.finished_at > {{ watermark }}
        )
        or exists (
            select 1
            from {{ staged_changes }} as restaged
            where restaged.client_id is null and restaged.ingested_through > {{ watermark }}
        )
    {%- endif %}
{%- endmacro %}

{#- Post-hook of the incremental feature models: drop the rows that left the spine, so an incremental table
    always holds exactly what a full refresh would build: a daily date older than `daily_feature_days`, a
    date after a smaller as_of_date, and (in the models keyed by client and date) a client the rebuilt spine
    no longer has at that date, e.g. closed in a corrected snapshot. The spine is rebuilt by whole dates,
    those of `feature_dates_to_build`, so only those dates are compared with it (evaluated again here, the
    same dates: the watermark is recorded after this hook; the new dates are complete by construction). -#}
{% macro prune_feature_dates() -%}
    delete from {{ this }} as built
    where
        built.feature_date not in (select feature_dates.feature_date from {{ ref('int_feature_dates') }} as feature_dates)
        {%- if model.name != 'int_client_feature_dates' %}
        or (
            built.feature_date in ({{ feature_dates_to_build(is_incremental()) }})
            and not exists (
                select 1
                from {{ ref('int_client_feature_dates') }} as spine
                where spine.client_id = built.client_id and spine.feature_date = built.feature_date
            )
        )
        {%- endif %}
{%- endmacro %}

{#- Point-in-time join: for each row of `spine` (columns `keys` and `spine_date`), the row of `history` with
    the same keys and the newest `history_date` on or before `spine_date`, e.g. a client snapshot as it was
    delivered in the newest export on or before the feature date. Returns the spine's keys and date and the
    history's `columns`; `left=false` drops spine rows without such a history row. `spine` and `history`
    are relation or CTE names. DuckDB has ASOF joins; other engines join on validity intervals. -#}
{% macro as_of_join(spine, history, keys, spine_date, history_date, columns, left=true) -%}
    {{ return(adapter.dispatch('as_of_join', 'riskmart')(spine, history, keys, spine_date, history_date, columns, left)) }}
{%- endmacro %}

{% macro duckdb__as_of_join(spine, history, keys, spine_date, history_date, columns, left) -%}
    select
        {%- for key in keys %}
        spine.{{ key }},
        {%- endfor %}
        spine.{{ spine_date }}
        {%- for column in columns %},
        history.{{ column }}
        {%- endfor %}
    from {{ spine }} as spine
    asof {{ 'left ' if left else '' }}join {{ history }} as history
        on
        {%- for key in keys %}
        spine.{{ key }} = history.{{ key }} and
        {%- endfor %}
        spine.{{ spine_date }} >= history.{{ history_date }}
{%- endmacro %}

{#- Portable form: each history row is valid from its date until the next row's date (exclusive). -#}
{% macro default__as_of_join(spine, history, keys, spine_date, history_date, columns, left) -%}
    select
        {%- for key in keys %}
        spine.{{ key }},
        {%- endfor %}
        spine.{{ spine_date }}
        {%- for column in columns %},
        history.{{ column }}
        {%- endfor %}
    from {{ spine }} as spine
    {{ 'left ' if left else '' }}join (
        select
            versions.*,
            lead(versions.{{ history_date }}) over (
                partition by {% for key in keys %}versions.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
                order by versions.{{ history_date }}
            ) as as_of_join_valid_to
        from {{ history }} as versions
    ) as history
        on
        {%- for key in keys %}
        spine.{{ key }} = history.{{ key }} and
        {%- endfor %}
        spine.{{ spine_date }} >= history.{{ history_date }}
        and (history.as_of_join_valid_to is null or spine.{{ spine_date }} < history.as_of_join_valid_to)
{%- endmacro %}

{#- The config of the marts that are incremental by feature date (`fct_client_features`, `fct_rule_scores`),
    as the feature families get it from dbt_project.yml: delete+insert by (client_id, feature_date), the
    spine pruned and the seeds' fingerprint recorded after each build; on BigQuery, partitioned by month and
    clustered by client. Usage: `{% raw %}{{ config(**incremental_by_feature_date()) }}{% endraw %}`. -#}
{% macro incremental_by_feature_date() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': ['client_id', 'feature_date'],
        'on_schema_change': 'fail',
        'post_hook': ["{{ prune_feature_dates() }}", "{{ record_settings_fingerprint() }}"],
        'partition_by': ({'field': 'feature_date', 'data_type': 'date', 'granularity': 'month'}
            if target.type == 'bigquery' else none),
        'cluster_by': (['client_id'] if target.type == 'bigquery' else none),
    }) }}
{%- endmacro %}

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
            changes.client_id,
            min(changes.first_affected_date) as first_affected_date
        from {{ staged_changes }} as changes
        where changes.client_id is not null and changes.ingested_through > {{ ingested_through_last_build() }}
        group by changes.client_id
    ) as changed_clients
        on
            spine.client_id = changed_clients.client_id
            and spine.feature_date >= changed_clients.first_affected_date
    {%- endif %}
{%- endmacro %}

{#- SQL date: the first export an incremental model keyed by export date recomputes in this run (e.g.
    `int_client_credit_limit_changes`): the earliest export date of the `table_name` deliveries loaded since
    its last build (`int_delivery_impact`; 9999-12-31 when there is none), or 1900-01-01 (every export) on a
    full build, after a seed edit upstream, or when no build was recorded. The model records its watermark
    with the `record_settings_fingerprint` post-hook. -#}
{% macro first_export_to_rebuild(table_name) -%}
    {#- called unconditionally, so that dbt records the dependency at parse time -#}
    {%- set delivery_impact = ref('int_delivery_impact') -%}
    {%- if is_incremental() and not settings_changed_since_last_build() -%}
        coalesce(
            (
                select min(impact.first_affected_date)
                from {{ delivery_impact }} as impact
                where impact.table_name = '{{ table_name }}' and impact.finished_at > {{ ingested_through_last_build() }}
            ),
            cast('9999-12-31' as date)
        )
    {%- else -%}
        cast('1900-01-01' as date)
    {%- endif -%}
{%- endmacro %}

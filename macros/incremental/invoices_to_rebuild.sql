{#- The invoices an incremental build of `int_invoices` recomputes, as a condition on a relation with its
    columns (client_id, invoice_id, order_date): 'true' (every invoice) on a first build, after a seed edit
    upstream (`settings_changed_since_last_build`) or when the table is empty; otherwise
    * every invoice of a client whose staged orders or payments changed since the model's last build (the
      staged change log: a new, late, corrected or withdrawn order or payment logs its client), and
    * every invoice with an order, or a payment, dated after the rebuild floor: the earlier of the newest
      order date built and the latest data date. The latest data date bounds the orders and payments an
      invoice counts, so when it moves (forward, or back for a rebuild of an older day) the invoices it adds
      or drops, and the payments it adds or drops, are all dated after the floor.
    Like the per-client rebuild of the feature families, it takes a payment's client to be its invoice's.
    The floor is read from the table once per build (build_settings_memo) and written as a date literal, so
    the model's query and its pre-hook, which deletes the recomputed invoices before the query inserts them,
    select the same invoices. -#}
{% macro invoices_to_rebuild(incremental) -%}
    {#- named before any return, so that dbt records both as parents of the model when it parses it -#}
    {%- set staged_changes = ref('stg_riskmart_meta__staged_changes') -%}
    {%- set payments = ref('stg_lender__payments') -%}
    {%- if not incremental or not execute or settings_changed_since_last_build() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set memo = build_settings_memo() -%}
    {%- if 'invoice_rebuild_floor' not in memo -%}
        {%- set floor_query -%}
            select
                case
                    when max(built.order_date) is null then null
                    when max(built.order_date) <= bound.as_of_date then max(built.order_date)
                    else bound.as_of_date
                end as rebuild_floor
            from {{ this }} as built
            cross join (select max(spine.as_of_date) as as_of_date from {{ ref('int_feature_dates') }} as spine)
                as bound
            group by bound.as_of_date
        {%- endset -%}
        {%- set rows = run_query(floor_query).columns[0].values() -%}
        {%- do memo.update({'invoice_rebuild_floor': rows[0] if rows else none}) -%}
    {%- endif -%}
    {%- set floor = memo['invoice_rebuild_floor'] -%}
    {%- if floor is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set floor_literal = "cast('" ~ (floor | string)[:10] ~ "' as date)" -%}
    {{ return(
        "(client_id in (select unread.client_id from (" ~ unread_staged_changes(staged_changes) ~ ") as unread)"
        ~ " or order_date > " ~ floor_literal
        ~ " or invoice_id in (select later.invoice_id from " ~ payments ~ " as later"
        ~ " where later.payment_date > " ~ floor_literal ~ "))"
    ) }}
{%- endmacro %}

{#- True on an incremental build of {{ this }} whose built table has `column_name`: false on a full build, and
    once on a table built before the column existed (the model, with on_schema_change append_new_columns,
    computes every row again, which fills the column). -#}
{% macro incremental_with_column(column_name) -%}
    {%- if not is_incremental() -%}
        {%- do return(false) -%}
    {%- endif -%}
    {%- do return(column_name in (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower'))) -%}
{%- endmacro %}

{#- One row: the feature values of a client with no history, as the macro `no_history_features` defines them
    (the feature models coalesce with the same macro); the publisher puts it in the bundle for applicants. -#}
select
    -- noqa: disable=LT02
    {%- for name, value, type in no_history_features() %}
    cast({{ value }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
-- noqa: enable=LT02

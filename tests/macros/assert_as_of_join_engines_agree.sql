-- The point-in-time join picks, per key and date, the history row with the newest date on or before it;
-- DuckDB's ASOF join and the portable interval join (used on other engines) must both give exactly that.
{%- set native_as_of_join = riskmart.duckdb__as_of_join if target.type == 'duckdb'
    else riskmart.default__as_of_join %}
with

spine as (

    select
        'k1' as client_id,
        cast('2026-01-05' as date) as feature_date
    union all
    select
        'k1' as client_id,
        cast('2026-01-10' as date) as feature_date
    union all
    select
        'k1' as client_id,
        cast('2025-12-31' as date) as feature_date
    union all
    select
        'k1' as client_id,
        cast('2026-01-07' as date) as feature_date
    union all
    select
        'k2' as client_id,
        cast('2026-01-05' as date) as feature_date

),

history as (

    select
        'k1' as client_id,
        cast('2026-01-01' as date) as export_date,
        'a' as status
    union all
    select
        'k1' as client_id,
        cast('2026-01-05' as date) as export_date,
        'b' as status
    union all
    select
        'k1' as client_id,
        cast('2026-01-07' as date) as export_date,
        'c' as status
    union all
    select
        'k3' as client_id,
        cast('2026-01-01' as date) as export_date,
        'z' as status

),

expected as (

    select
        'k1' as client_id,
        cast('2026-01-05' as date) as feature_date,
        'b' as status
    union all
    select
        'k1' as client_id,
        cast('2026-01-10' as date) as feature_date,
        'c' as status
    union all
    -- before the key's first history row, and a key without history: no match, kept (left join)
    select
        'k1' as client_id,
        cast('2025-12-31' as date) as feature_date,
        null as status
    union all
    select
        'k1' as client_id,
        cast('2026-01-07' as date) as feature_date,
        'c' as status
    union all
    select
        'k2' as client_id,
        cast('2026-01-05' as date) as feature_date,
        null as status

),

portable as (

    {{ riskmart.default__as_of_join(
        'spine', 'history', ['client_id'], 'feature_date', 'export_date', ['status'], true
    ) }}

),

native as (

    {{ native_as_of_join(
        'spine', 'history', ['client_id'], 'feature_date', 'export_date', ['status'], true
    ) }}

),

-- rows of one side without an identical row on the other (a missing status matches a missing status)
differences as (

    select
        'portable but not expected' as problem,
        portable.client_id,
        portable.feature_date,
        portable.status
    from portable
    left join expected
        on
            portable.client_id = expected.client_id
            and portable.feature_date = expected.feature_date
            and coalesce(portable.status, '-') = coalesce(expected.status, '-')
    where expected.client_id is null
    union all
    select
        'expected but not portable' as problem,
        expected.client_id,
        expected.feature_date,
        expected.status
    from expected
    left join portable
        on
            expected.client_id = portable.client_id
            and expected.feature_date = portable.feature_date
            and coalesce(expected.status, '-') = coalesce(portable.status, '-')
    where portable.client_id is null
    union all
    select
        'native but not expected' as problem,
        native.client_id,
        native.feature_date,
        native.status
    from native
    left join expected
        on
            native.client_id = expected.client_id
            and native.feature_date = expected.feature_date
            and coalesce(native.status, '-') = coalesce(expected.status, '-')
    where expected.client_id is null
    union all
    select
        'expected but not native' as problem,
        expected.client_id,
        expected.feature_date,
        expected.status
    from expected
    left join native
        on
            expected.client_id = native.client_id
            and expected.feature_date = native.feature_date
            and coalesce(expected.status, '-') = coalesce(native.status, '-')
    where native.client_id is null

)

select
    problem,
    client_id,
    feature_date,
    status
from differences

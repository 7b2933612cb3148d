-- Calendar arithmetic the features rely on, on hand-checked dates.
with

cases as (

    select
        'a month counts once its day is reached (1)' as case_name,
        {{ full_months_between("cast('2025-01-15' as date)", "cast('2025-03-14' as date)") }} as actual,
        1 as expected
    union all
    select
        'a month counts once its day is reached (2)' as case_name,
        {{ full_months_between("cast('2025-01-15' as date)", "cast('2025-03-15' as date)") }} as actual,
        2 as expected
    union all
    select
        'end of a long month to the end of February' as case_name,
        {{ full_months_between("cast('2025-01-31' as date)", "cast('2025-02-28' as date)") }} as actual,
        0 as expected
    union all
    select
        'across a year' as case_name,
        {{ full_months_between("cast('2025-06-15' as date)", "cast('2026-01-31' as date)") }} as actual,
        7 as expected
    union all
    select
        'days from due date to the default threshold' as case_name,
        {{ days_between("cast('2026-01-01' as date)", "cast('2026-03-02' as date)") }} as actual,
        60 as expected
    union all
    select
        'days backwards are negative' as case_name,
        {{ days_between("cast('2026-03-02' as date)", "cast('2026-01-01' as date)") }} as actual,
        -60 as expected
    union all
    select
        'sixty days after January 31 of 2026 is April 1' as case_name,
        case
            when {{ add_days("cast('2026-01-31' as date)", 60) }} = cast('2026-04-01' as date) then 1 else 0
        end as actual,
        1 as expected

)

select
    case_name,
    actual,
    expected
from cases
where actual is distinct from expected

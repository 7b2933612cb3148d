-- Whatever curve the risk team puts in the seed, the macro must follow it: its points at every breakpoint,
-- the mean of two neighbours halfway between them, the first breakpoint's points for early payments and the
-- last one's beyond it, never rising with lateness, always within 0 to 100.
with

breakpoints as (

    select
        days_past_due,
        points,
        lead(days_past_due) over (order by days_past_due) as next_days_past_due,
        lead(points) over (order by days_past_due) as next_points
    from {{ ref('payment_timeliness_curve') }}

),

bounds as (

    select
        min(days_past_due) as first_days_past_due,
        max(days_past_due) as last_days_past_due
    from breakpoints

),

expected as (

    select
        'at a breakpoint' as case_name,
        cast(days_past_due as {{ type_double() }}) as days_past_due,
        points as expected_points
    from breakpoints

    union all

    select
        'halfway between breakpoints' as case_name,
        (days_past_due + next_days_past_due) / 2.0 as days_past_due,
        (points + next_points) / 2.0 as expected_points
    from breakpoints
    where next_days_past_due is not null

    union all

    select
        'earlier than the first breakpoint' as case_name,
        cast(bounds.first_days_past_due - 30 as {{ type_double() }}) as days_past_due,
        breakpoints.points as expected_points
    from breakpoints
    cross join bounds
    where breakpoints.days_past_due = bounds.first_days_past_due

    union all

    select
        'beyond the last breakpoint' as case_name,
        cast(bounds.last_days_past_due + 300 as {{ type_double() }}) as days_past_due,
        breakpoints.points as expected_points
    from breakpoints
    cross join bounds
    where breakpoints.days_past_due = bounds.last_days_past_due

),

scored as (

    select
        case_name,
        days_past_due,
        expected_points,
        {{ payment_timeliness_points('days_past_due') }} as actual_points
    from expected

),

digits as (

    {%- for digit in range(10) %}
        select {{ digit }} as digit{{ ' union all' if not loop.last }}
    {%- endfor %}

),

day_offsets as (

    select hundreds.digit * 100 + tens.digit * 10 + ones.digit as offset_days
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones

),

-- every whole day from 10 before the first breakpoint to 10 after the last (up to 1000 days)
sweep as (

    select
        cast(bounds.first_days_past_due - 10 + day_offsets.offset_days as {{ type_double() }})
            as days_past_due
    from bounds
    cross join day_offsets
    where day_offsets.offset_days <= bounds.last_days_past_due - bounds.first_days_past_due + 20

),

swept as (

    select
        days_past_due,
        {{ payment_timeliness_points('days_past_due') }} as points
    from sweep

),

sweep_steps as (

    select
        days_past_due,
        points,
        lag(points) over (order by days_past_due) as previous_points
    from swept

)

select
    case_name,
    days_past_due,
    expected_points,
    actual_points
from scored
where actual_points is null or abs(actual_points - expected_points) > 1e-9

union all

select
    'rises with lateness or leaves 0-100' as case_name,
    days_past_due,
    previous_points as expected_points,
    points as actual_points
from sweep_steps
where points > previous_points + 1e-9 or points < 0 or points > 100 or points is null

-- Hand-computed values of the recency weight and the recency-weighted score, half-life 30 days:
-- a payment exactly one half-life old weighs 1/2, two half-lives 1/4; a group without values scores NULL.
with

observations as (

    -- 100 points today, 0 points 30 days ago: (100 * 1 + 0 * 0.5) / 1.5 = 66.666...
    select
        'hand-computed example' as case_name,
        100.0 as points,
        0 as age_days
    union all
    select
        'hand-computed example' as case_name,
        0.0 as points,
        30 as age_days
    union all
    -- 40 points today, 100 points 60 days ago: (40 * 1 + 100 * 0.25) / 1.25 = 52
    select
        'two half-lives' as case_name,
        40.0 as points,
        0 as age_days
    union all
    select
        'two half-lives' as case_name,
        100.0 as points,
        60 as age_days
    union all
    -- a NULL value is left out of both sums
    select
        'null values are ignored' as case_name,
        null as points,
        0 as age_days
    union all
    select
        'null values are ignored' as case_name,
        80.0 as points,
        10 as age_days
    union all
    -- old payments still count when they are all there is
    select
        'only old payments' as case_name,
        90.0 as points,
        3650 as age_days

),

expected_scores as (

    select
        'hand-computed example' as case_name,
        200.0 / 3.0 as expected
    union all
    select
        'two half-lives' as case_name,
        52.0 as expected
    union all
    select
        'null values are ignored' as case_name,
        80.0 as expected
    union all
    select
        'only old payments' as case_name,
        90.0 as expected

),

scores as (

    select
        observations.case_name,
        {{ recency_weighted_score('observations.points', 'observations.age_days', 30) }} as actual
    from observations
    group by observations.case_name

),

-- the empty history: an aggregate over no rows
empty_history as (

    select
        'empty history is null' as case_name,
        {{ recency_weighted_score('observations.points', 'observations.age_days', 30) }} as actual,
        null as expected
    from observations
    where 1 = 0

),

weights as (

    select
        'weight of a payment made today' as case_name,
        {{ recency_weight(0, 30) }} as actual,
        1.0 as expected
    union all
    select
        'weight one half-life old' as case_name,
        {{ recency_weight(30, 30) }} as actual,
        0.5 as expected
    union all
    select
        'weight two half-lives old' as case_name,
        {{ recency_weight(180, 90) }} as actual,
        0.25 as expected

),

cases as (

    select
        scores.case_name,
        scores.actual,
        expected_scores.expected
    from scores
    inner join expected_scores
        on scores.case_name = expected_scores.case_name
    union all
    select
        empty_history.case_name,
        empty_history.actual,
        empty_history.expected
    from empty_history
    union all
    select
        weights.case_name,
        weights.actual,
        weights.expected
    from weights

)

select
    case_name,
    actual,
    expected
from cases
where
    (expected is null and actual is not null)
    or (expected is not null and (actual is null or abs(actual - expected) > 1e-12))

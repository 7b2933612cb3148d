-- Nothing after the latest data date is used: no default event is dated after it.
with

latest as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_feature_dates') }}

)

select
    events.client_id,
    events.event_date,
    events.event_type,
    events.source_id
from {{ ref('int_default_events') }} as events
cross join latest
where events.event_date > latest.as_of_date

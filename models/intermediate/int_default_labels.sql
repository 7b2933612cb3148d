with

horizon as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_feature_dates') }}

),

client_dates as (

    select
        client_id,
        feature_date
    from {{ ref('int_client_feature_dates') }}

),

events as (

    select
        client_id,
        event_date
    from {{ ref('int_default_events') }}

),

-- default events in the window (t, t + window]: the day after the feature date through the window's last day
events_in_window as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        count(*) as default_events_in_window,
        min(events.event_date) as first_default_event_date
    from client_dates
    inner join events
        on
            client_dates.client_id = events.client_id
            and client_dates.feature_date < events.event_date
            and {{ add_days('client_dates.feature_date', var('default_window_days')) }} >= events.event_date
    group by client_dates.client_id, client_dates.feature_date

),

labelled as (

    select
        client_dates.client_id,
        client_dates.feature_date,
        {{ add_days('client_dates.feature_date', var('default_window_days')) }} <= horizon.as_of_date
            as label_matured,
        events_in_window.first_default_event_date,
        coalesce(events_in_window.default_events_in_window, 0) as default_events_in_window
    from client_dates
    cross join horizon
    left join events_in_window
        on
            client_dates.client_id = events_in_window.client_id
            and client_dates.feature_date = events_in_window.feature_date

)

select
    client_id,
    feature_date,
    -- 1: an event in the window; 0: none and the window is fully observed; NULL: not observed yet
    case
        when default_events_in_window > 0 then 1
        when label_matured then 0
    end as default_next_60d,
    label_matured,
    first_default_event_date,
    default_events_in_window
from labelled

/*
description: >
  Consent-denied (cookieless) GA4 pings per day and event name. They carry no
  client id, so they cannot be sessionised or joined to a lead; this model
  only counts them, to size what consent mode leaves unattributed.
materialized: incremental
partition_by: event_date
unique_key: [event_date, event_name]
lookback_days: 3
tests:
  not_null: [event_date, event_name, cookieless_events]
*/
select
  event_date,
  event_name,
  count(*) as cookieless_events,
  count(distinct page_location) as distinct_pages
from {{ ref "stg_ga4__events" }}
where is_cookieless
  and {{ incremental_filter "event_date" }}
group by event_date, event_name

/*
materialized: table
partition_by: event_date
tests:
  unique_combination: [[event_date, channel]]
*/
select
  event_date,
  channel,
  count(*) as events,
  sum(amount) as amount
from {{ ref "stg_events" }}
group by event_date, channel

/*
materialized: incremental
partition_by: event_date
lookback_days: 1
unique_key: [event_id]
tests:
  not_null: [event_id, event_date]
*/
select
  event_id,
  event_date,
  user_id,
  lower(channel) as channel,
  amount
from {{ source "app" "events" }}
where {{ incremental_filter "event_date" }}

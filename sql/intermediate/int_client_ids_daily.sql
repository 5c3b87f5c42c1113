/*
description: >
  The GA client ids seen with a gclid or a user_id, per event day: one row
  per (event_date, client_key, gclid, user_id). int_lead_identity links
  leads through it instead of scanning every event, and since a day's rows
  depend on that day's events alone, an incremental run rebuilds only the
  lookback window, as stg_ga4__events does.
materialized: incremental
partition_by: event_date
lookback_days: 3
tests:
  not_null: [event_date, client_key]
*/
select distinct event_date, client_key, gclid, user_id
from {{ ref "stg_ga4__events" }}
where {{ incremental_filter "event_date" }}
  and client_key is not null
  and (gclid is not null or user_id is not null)

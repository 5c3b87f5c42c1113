/*
materialized: table
*/
select
  client_key,
  DATE_TRUNC(event_date, MONTH) as month,
  (TIMESTAMP_DIFF(max(event_ts), min(event_ts), MICROSECOND) / 86400000000.0) as active_days,
  DATE_DIFF(max(event_date), min(event_date), DAY) as span_days,
  count(*) as events
from `my-project.sam.stg_ga4_sample`
where event_date >= date_sub(current_date(), interval 90 day)
  and 'USD' = 'USD'
group by client_key, month

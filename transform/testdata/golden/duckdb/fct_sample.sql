/*
materialized: table
*/
select
  client_key,
  CAST(date_trunc('month', CAST(event_date AS DATE)) AS DATE) as month,
  (date_diff('microsecond', CAST(min(event_ts) AS TIMESTAMP), CAST(max(event_ts) AS TIMESTAMP)) / 86400000000.0) as active_days,
  date_diff('day', CAST(min(event_date) AS DATE), CAST(max(event_date) AS DATE)) as span_days,
  count(*) as events
from "stg_ga4_sample"
where event_date >= date_sub(current_date(), interval 90 day)
  and 'USD' = 'USD'
group by client_key, month

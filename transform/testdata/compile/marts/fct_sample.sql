/*
materialized: table
*/
select
  client_key,
  {{ date_trunc "event_date" "MONTH" }} as month,
  {{ days_between "max(event_ts)" "min(event_ts)" }} as active_days,
  {{ date_diff_days "max(event_date)" "min(event_date)" }} as span_days,
  count(*) as events
from {{ ref "stg_ga4_sample" }}
where event_date >= date_sub(current_date(), interval {{ var "attribution_window_days" }} day)
  and {{ var "reporting_currency" }} = 'USD'
group by client_key, month

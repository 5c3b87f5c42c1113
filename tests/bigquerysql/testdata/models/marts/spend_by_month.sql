/*
description: A hand-rendered stand-in for a mart, for the checker's own tests.
materialized: view
*/
select
  DATE_TRUNC(spend_date, MONTH) as month,
  channel,
  sum(cost_reporting) as cost,
  countif(fx_missing) as rows_without_rate,
  DATE_DIFF(max(spend_date), min(spend_date), DAY) as days_covered
from `sam-proj.sam.stg_spend__daily`
group by month, channel

/*
description: >
  A mart written for the checker's own tests: monthly spend per channel over
  SAM's stg_spend__daily, so its column types are derived through two
  upstream models (stg_fx__rates, then stg_spend__daily).
materialized: view
*/
select
  {{ date_trunc "spend_date" "MONTH" }} as month,
  channel,
  sum(cost_reporting) as cost,
  countif(fx_missing) as rows_without_rate,
  {{ date_diff_days "max(spend_date)" "min(spend_date)" }} as days_covered
from {{ ref "stg_spend__daily" }}
group by month, channel

/*
description: >
  Spend in a currency other than the reporting currency needs a rate into it
  on or before its day (SAM_FX_RATES_FILE). Without one its cost_reporting is
  NULL and cost per lead and ROI leave it out: SAM does not guess a rate.
  The rows are listed per currency and month, and the run goes on; add the
  rates and the next run counts them.
severity: warn
*/
select
  currency,
  {{ date_trunc "spend_date" "MONTH" }} as month,
  count(*) as spend_rows,
  sum(cost) as cost
from {{ ref "stg_spend__daily" }}
where fx_missing
group by 1, 2

/*
description: >
  A won lead's revenue in a currency other than the reporting currency needs
  a rate into it on the deal's closing date (SAM_FX_RATES_FILE). Without one
  its revenue_reporting is NULL, and channel, campaign and account revenue
  leave it out: SAM does not guess a rate. The leads are listed and the run
  goes on; add the rates and the next run counts them.
severity: warn
*/
select f.lead_id, f.currency, f.revenue, f.won_at
from {{ ref "fct_lead_revenue" }} as f
where f.revenue_reporting is null
  and exists (
    select 1
    from {{ ref "stg_crm__deals" }} as d
    where d.lead_id = f.lead_id
      and d.is_won and not coalesce(d.is_deleted, false)
      and d.amount is not null and d.currency is not null
  )

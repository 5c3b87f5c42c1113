/*
description: >
  A won lead's revenue in a currency other than the reporting currency needs
  a rate into it on the deal's closing date (SAM_FX_RATES_FILE). Without one
  its revenue_reporting is NULL, and channel, campaign and account revenue
  leave it out, and its won event waits (activation_events): SAM does not
  guess a rate. The leads are listed and the run goes on; add the rates and
  the next run counts them and sends the events.
severity: warn
*/
select lead_id, currency, revenue, won_at
from {{ ref "fct_lead_revenue" }}
where revenue_has_no_rate

/*
description: >
  A won deal's revenue reaches the marts through its lead (fct_lead_revenue)
  or its account (fct_account_revenue, through int_account_deals). A won
  deal whose lead the CRM data does not hold (never exported, or deleted)
  and that has no account reaches neither, so channel and account revenue
  leave it out. The deals are listed and the run goes on.
severity: warn
*/
select d.deal_id, d.lead_id, d.amount, d.currency
from {{ ref "stg_crm__deals" }} as d
where d.is_won and not d.is_deleted
  and not exists (select 1 from {{ ref "fct_lead_revenue" }} as l where l.lead_id = d.lead_id)
  and not exists (select 1 from {{ ref "int_account_deals" }} as a where a.deal_id = d.deal_id)

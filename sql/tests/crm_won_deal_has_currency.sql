/*
description: >
  A won deal with an amount must say its currency, or its revenue cannot be
  converted and would be summed with amounts in other currencies. Its lead
  is quarantined (int_quarantined_leads), so the run goes on.
severity: warn
*/
select deal_id, amount, currency
from {{ ref "stg_crm__deals" }}
where is_won and not is_deleted and amount is not null and currency is null

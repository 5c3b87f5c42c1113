/*
description: >
  Leads held back from activation, one row per lead and reason. A problem
  in one lead's rows never stops everyone's run: the lead is listed here
  (and by the warn test tests/quarantined_leads), activation_events leaves
  it out, and everything else goes on. Reasons: a won deal with a negative
  amount (a refund or a typo; sending it would teach bidding a loss), a won
  deal with an amount but no currency (its value cannot be converted), and
  personal data in the CRM's disqualification reason (an email address or
  a phone number; the reason would otherwise be mapped and sent).
materialized: table
tests:
  not_null: [lead_id, reason]
  unique_combination: [[lead_id, reason]]
*/
select distinct lead_id, 'won deal with a negative amount' as reason
from {{ ref "stg_crm__deals" }}
where is_won and not is_deleted and amount < 0 and lead_id is not null
union all
select distinct lead_id, 'won deal without currency' as reason
from {{ ref "stg_crm__deals" }}
where is_won and not is_deleted and amount is not null and currency is null and lead_id is not null
union all
select lead_id, 'personal data in the disqualification reason' as reason
from {{ ref "stg_crm__leads" }}
where not is_deleted
  and (
    strpos(coalesce(disqualification_reason, ''), '@') > 0
    -- the shape activation/ga4's payload guard refuses as a phone number
    or regexp_contains(coalesce(disqualification_reason, ''), '[+]?[(]?[0-9][0-9 ()./-]{6,}[0-9]')
  )

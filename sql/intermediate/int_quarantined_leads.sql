/*
description: >
  Leads held back from activation, one row per lead and reason. A problem
  in one lead's rows never stops everyone's run: the lead is listed here
  (and by the warn test tests/quarantined_leads), activation_events leaves
  it out, and everything else goes on. Reasons: a won deal with a negative
  amount (a refund or a typo; sending it would teach bidding a loss), a won
  deal with an amount but no currency (its value cannot be converted),
  personal data in the CRM's disqualification reason (an email address or
  a phone number; the reason would otherwise be mapped and sent), and
  versions that conflict: two versions of the lead, of one of its deals,
  or of an offline touch within its attribution window, with the same
  updated_at (modified_at), loaded in the same batch, that differ in what
  staging reads (version_conflict in staging; identical copies, and a
  lead's versions that differ only in its phone, name or company, are no
  conflict). SAM cannot tell which one is current: a deal's amount or
  stage, a lead's stages or identifiers, or a touch's channel (which may
  decide the channel a lead's value is predicted by) could be the wrong
  one. Deleted leads and deals count too: the versions may disagree on
  the deletion. An account's conflict holds back no lead (see
  stg_crm__accounts).
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
union all
select lead_id, 'two versions with the same updated_at differ' as reason
from {{ ref "stg_crm__leads" }}
where version_conflict
union all
select distinct lead_id, 'a deal has two versions with the same updated_at that differ' as reason
from {{ ref "stg_crm__deals" }}
where version_conflict and lead_id is not null
union all
select distinct lead_id, 'an offline touch has two versions with the same updated_at that differ' as reason
from {{ ref "int_lead_offline_touches" }}
where version_conflict

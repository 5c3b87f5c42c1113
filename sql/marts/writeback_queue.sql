/*
description: >
  One row per GA4 lead event still to send through the Measurement Protocol:
  the GA4 stages of activation_events whose key the activation ledger does
  not yet hold as done or in doubt for GA4 (the runner's rule). A view, so
  it always reflects the ledger. Kept for BI and operators; the activation
  runner reads activation_events and the ledger itself.
materialized: view
tests:
  not_null: [idempotency_key, lead_id, client_key, event_name, event_ts]
  unique: [idempotency_key]
  accepted_values: {event_name: [qualify_lead, working_lead, disqualify_lead, close_convert_lead, close_unconvert_lead], lead_stage: [mql, sql, opportunity, disqualified, won, lost]}
*/
with blocked as (
  -- done (sent, accepted, rejected) or open (an intent no failed or
  -- released row balances: the crash window)
  select idempotency_key
  from {{ source "writeback" "send_log" }}
  where coalesce(destination, 'ga4') = 'ga4'
  group by idempotency_key
  having sum(case when status in ('sent', 'accepted', 'rejected') then 1 else 0 end) > 0
      or sum(case when status = 'intent' then 1 when status in ('failed', 'released') then -1 else 0 end) > 0
)

select
  e.event_key as idempotency_key,
  e.lead_id,
  e.client_key,
  e.event_name,
  e.event_at as event_ts,
  e.ga_session_id,
  e.value,
  e.currency,
  e.stage as lead_stage,
  e.reason
from {{ ref "activation_events" }} as e
left join blocked as b on b.idempotency_key = e.event_key
where e.stage != 'lead' and e.client_key is not null and b.idempotency_key is null

/*
description: >
  One row per GA4 lead event still to send through the Measurement Protocol
  (read by the writeback package). A view, so it always reflects the send
  log: keys already sent, or held in the writer's crash window, are left out
  with the same rule the writer applies. Only leads linked to a GA client id
  appear. Spam leads get a disqualify_lead event and nothing else.
materialized: view
tests:
  not_null: [idempotency_key, lead_id, client_key, event_name, event_ts]
  unique: [idempotency_key]
  accepted_values: {event_name: [qualify_lead, disqualify_lead, close_convert_lead, close_unconvert_lead], lead_stage: [mql, sql, disqualified, won, lost]}
*/
with leads as (
  select *
  from {{ ref "fct_lead_revenue" }}
  where client_key is not null and client_key != ''
),

events as (
  select lead_id, source_system, client_key, lead_form_ga_session_id,
         'qualify_lead' as event_name, 'mql' as lead_stage, mql_at as event_ts,
         cast(null as numeric) as value, cast(null as string) as currency, cast(null as string) as reason
  from leads
  where mql_at is not null and not coalesce(is_spam, false)

  union all
  select lead_id, source_system, client_key, lead_form_ga_session_id,
         'qualify_lead', 'sql', sql_at,
         cast(null as numeric), cast(null as string), cast(null as string)
  from leads
  where sql_at is not null and not coalesce(is_spam, false)

  union all
  -- Spam is a disqualification even when the CRM never recorded one.
  select lead_id, source_system, client_key, lead_form_ga_session_id,
         'disqualify_lead', 'disqualified', coalesce(disqualified_at, created_at),
         cast(null as numeric), cast(null as string),
         case
           when coalesce(is_spam, false) then substr(lower('spam' || coalesce(': ' || trim(spam_reason), '')), 1, 100)
           else substr(lower(trim(disqualification_reason)), 1, 100)
         end
  from leads
  where disqualified_at is not null or coalesce(is_spam, false)

  union all
  select lead_id, source_system, client_key, lead_form_ga_session_id,
         'close_convert_lead', 'won', won_at,
         revenue_reporting, reporting_currency, cast(null as string)
  from leads
  where won_at is not null and not coalesce(is_spam, false)

  union all
  select lead_id, source_system, client_key, lead_form_ga_session_id,
         'close_unconvert_lead', 'lost', lost_at,
         cast(null as numeric), cast(null as string), cast(null as string)
  from leads
  where lost_at is not null and won_at is null and not coalesce(is_spam, false)
),

keyed as (
  select
    -- Stable across runs and engines: the stage time enters as epoch
    -- microseconds, not as engine-formatted text. A changed stage time in
    -- the CRM is a new event.
    {{ fingerprint "coalesce(source_system, '') || '|' || lead_id || '|' || event_name || '|' || lead_stage || '|' || cast(unix_micros(event_ts) as string)" }} as idempotency_key,
    lead_id,
    client_key,
    event_name,
    event_ts,
    lead_form_ga_session_id as ga_session_id,
    value,
    case when value is not null then upper(currency) end as currency,
    lead_stage,
    nullif(reason, '') as reason
  from events
  where event_ts is not null
),

-- The writer's rule (writeback.blockedSQL): a key is done once sent, and
-- held while an intent has no failed or released row to balance it.
blocked as (
  select idempotency_key
  from {{ source "writeback" "send_log" }}
  group by idempotency_key
  having sum(case when status = 'sent' then 1 else 0 end) > 0
      or sum(case when status = 'intent' then 1 when status in ('failed', 'released') then -1 else 0 end) > 0
)

select k.*
from keyed as k
left join blocked as b on b.idempotency_key = k.idempotency_key
where b.idempotency_key is null

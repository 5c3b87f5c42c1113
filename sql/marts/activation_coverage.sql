/*
description: >
  How much lead-quality and revenue signal reached each algorithm, and why
  the rest did not: one row per destination × stage × month of the stage
  event × status, with events, leads and value (predicted for early stages,
  won revenue for won). Status is the newest word of the activation ledger
  for the (destination, event): sent (delivered; GA4 confirms nothing per
  event), accepted, rejected (by the destination or SAM's payload guard),
  failed (not delivered; sent again next run), unknown (may have arrived;
  see the crash window), expired_window, no_identifier, no_consent,
  disabled (destination not configured). Value is what the ledger recorded
  with the event: for what reached a destination, the value it carried. An
  event that reached a destination stays here after it left
  activation_events (a deal reopened, a lead deleted); a stage recorded as
  already_delivered counts once, under the key that delivered it.
  ga4_ads_export is what GA4 passes on to Google Ads: GA4 events sent more
  than 63 days after the user's last session reach GA4's reports but not
  Ads. A view, so it shows the ledger as
  it is now.
materialized: view
tests:
  not_null: [destination, stage, month, status, events, leads]
  accepted_values:
    status: [sent, accepted, rejected, failed, unknown, expired_window, no_identifier, no_consent, disabled]
*/
with ledger as (
  select
    coalesce(destination, 'ga4') as destination,
    idempotency_key as event_key,
    status,
    detail,
    lead_id,
    stage,
    event_at,
    value,
    currency,
    row_number() over (
      partition by coalesce(destination, 'ga4'), idempotency_key
      order by sent_at desc, case when status = 'intent' then 0 else 1 end desc
    ) as newest
  from {{ source "writeback" "send_log" }}
),

latest as (
  select
    destination,
    event_key,
    case status
      when 'intent' then 'unknown' -- committed, never settled: the crash window
      when 'released' then 'failed' -- an operator cleared it; the next run sends it
      else status
    end as status,
    detail,
    lead_id,
    stage,
    event_at,
    value,
    currency
  from ledger
  where newest = 1
    -- the key that delivered the lead's stage stands for it
    and status != 'already_delivered'
),

-- What reached a destination stays, with the value it carried, even once
-- the event has left activation_events (a deal reopened, a lead deleted);
-- the rest is today's events. Rows written before the ledger held stage
-- and value (GA4's first schema) take them from activation_events.
events as (
  select
    l.destination,
    l.event_key,
    l.status,
    l.detail,
    coalesce(l.lead_id, e.lead_id) as lead_id,
    coalesce(l.stage, e.stage) as stage,
    coalesce(l.event_at, e.event_at) as event_at,
    case
      when l.currency is not null and (l.status in ('sent', 'accepted', 'unknown') or e.event_key is null) then l.value
      else e.value
    end as value,
    coalesce(l.currency, e.currency) as currency
  from latest as l
  left join {{ ref "activation_events" }} as e on e.event_key = l.event_key
  where e.event_key is not null or l.status in ('sent', 'accepted', 'unknown')
),

with_ads_export as (
  select destination, event_key, status, lead_id, stage, event_at, value, currency from events
  union all
  select
    'ga4_ads_export',
    event_key,
    case when status = 'sent' and detail like 'outside the 63-day%' then 'expired_window' else status end,
    lead_id, stage, event_at, value, currency
  from events
  where destination = 'ga4'
)

select
  destination,
  stage,
  {{ date_trunc "cast(event_at as date)" "MONTH" }} as month,
  status,
  count(*) as events,
  count(distinct lead_id) as leads,
  sum(value) as value,
  max(currency) as currency
from with_ads_export
where stage is not null and event_at is not null
group by destination, stage, month, status

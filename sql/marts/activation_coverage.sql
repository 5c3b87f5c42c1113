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
  disabled (destination not configured), already_delivered (the lead's
  stage reached it under an earlier stage time, and is not sent twice). ga4_ads_export is what GA4 passes
  on to Google Ads: GA4 events sent more than 63 days after the user's last
  session reach GA4's reports but not Ads. A view, so it shows the ledger as
  it is now.
materialized: view
tests:
  not_null: [destination, stage, month, status, events, leads]
  accepted_values:
    status: [sent, accepted, rejected, failed, unknown, expired_window, no_identifier, no_consent, disabled, already_delivered]
*/
with ledger as (
  select
    coalesce(destination, 'ga4') as destination,
    idempotency_key as event_key,
    status,
    detail,
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
    detail
  from ledger
  where newest = 1
),

with_ads_export as (
  select destination, event_key, status from latest
  union all
  select
    'ga4_ads_export',
    event_key,
    case when status = 'sent' and detail like 'outside the 63-day%' then 'expired_window' else status end
  from latest
  where destination = 'ga4'
)

select
  l.destination,
  e.stage,
  {{ date_trunc "cast(e.event_at as date)" "MONTH" }} as month,
  l.status,
  count(*) as events,
  count(distinct e.lead_id) as leads,
  sum(e.value) as value,
  max(e.currency) as currency
from with_ads_export as l
join {{ ref "activation_events" }} as e on e.event_key = l.event_key
group by l.destination, e.stage, month, l.status

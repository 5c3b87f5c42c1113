/*
description: >
  No key the activation ledger records as delivered to GA4 is queued for
  GA4 again (the idempotency guarantee across runs).
*/
select q.idempotency_key, q.lead_id, q.event_name
from {{ ref "writeback_queue" }} as q
join {{ source "writeback" "send_log" }} as l
  on l.idempotency_key = q.idempotency_key
  and coalesce(l.destination, 'ga4') = 'ga4'
  and l.status in ('sent', 'accepted')

/*
description: >
  No key the send log records as sent is queued again (the idempotency
  guarantee across runs).
*/
select q.idempotency_key, q.lead_id, q.event_name
from {{ ref "writeback_queue" }} as q
join {{ source "writeback" "send_log" }} as l
  on l.idempotency_key = q.idempotency_key and l.status = 'sent'

/*
description: >
  Nothing bound for GA4 looks like an email address: the client id must be
  a GA client id (x.y), and the free-text reason carries no @. The writer's
  payload guard checks again, with phone numbers too, before sending.
*/
select idempotency_key, lead_id, event_name
from {{ ref "writeback_queue" }}
where strpos(client_key, '@') > 0
   or strpos(coalesce(reason, ''), '@') > 0

/*
description: >
  A close_convert_lead event with a value must carry its currency (GA4
  ignores value without currency), values are never negative, and only
  close_convert_lead carries a value.
*/
select idempotency_key, lead_id, event_name, value, currency
from {{ ref "writeback_queue" }}
where (value is not null and (currency is null or length(currency) != 3))
   or value < 0
   or (value is not null and event_name != 'close_convert_lead')

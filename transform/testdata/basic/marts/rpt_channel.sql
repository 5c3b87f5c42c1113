/*
# a view: BI reads live data
materialized: view
*/
select channel, events, amount, safe_divide(amount, events) as amount_per_event
from {{ ref "fct_channel" }}

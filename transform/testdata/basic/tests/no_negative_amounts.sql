-- amounts are never negative
select event_id, amount
from {{ ref "stg_events" }}
where amount < 0

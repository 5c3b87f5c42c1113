/*
description: >
  An activation event with a value carries its currency (platforms ignore a
  value without one), values are never negative, and only the stages that
  are worth something carry one: predicted for lead, mql, sql and
  opportunity, won revenue for won; lost and disqualified none.
*/
select event_key, lead_id, stage, value, currency
from {{ ref "activation_events" }}
where (value is not null and (currency is null or length(currency) != 3))
   or value < 0
   or (value is not null and stage in ('lost', 'disqualified'))

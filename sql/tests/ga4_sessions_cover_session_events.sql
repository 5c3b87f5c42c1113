/*
description: >
  Every sessionised GA4 event has its session in stg_ga4__sessions, so
  touchpoints built from sessions miss no session a lead's client had.
*/
select e.session_key, min(e.event_date) as first_event_date, count(*) as events
from {{ ref "stg_ga4__events" }} as e
left join {{ ref "stg_ga4__sessions" }} as s on s.session_key = e.session_key
where e.session_key is not null and s.session_key is null
group by e.session_key

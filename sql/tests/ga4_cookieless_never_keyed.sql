/*
description: >
  Consent-denied (cookieless) GA4 pings carry no client id: they must never
  get a client_key or session_key, so no lead can ever be joined to them.
*/
select 'stg_ga4__events' as model, event_key as row_key
from {{ ref "stg_ga4__events" }}
where is_cookieless and (client_key is not null or session_key is not null)
union all
select 'stg_ga4__lead_submissions' as model, submission_key as row_key
from {{ ref "stg_ga4__lead_submissions" }}
where is_cookieless and (client_key is not null or session_key is not null)

/*
description: >
  Leads whose activation has waited more than three days for GA4's export
  to reach their creation (activation_events holds a lead back until its
  form session can be loaded). GA4 rewrites a day for up to 72 hours; a
  longer wait means the export stopped or stopped being loaded, and no
  lead created since reaches any ad platform. Check the export's link and
  the load_ga4 stage.
severity: warn
*/
with ga4 as (
  select max(session_end_ts) as through from {{ ref "stg_ga4__sessions" }}
)
select l.lead_id, l.created_at, g.through as ga4_through
from {{ ref "fct_lead_revenue" }} as l
cross join ga4 as g
where g.through is not null
  and {{ days_between "l.created_at" "g.through" }} > 3

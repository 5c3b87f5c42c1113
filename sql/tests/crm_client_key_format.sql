/*
description: >
  Every client key linked to a lead is in GA's bare x.y form, the form
  user_pseudo_id takes on the web, so it can join GA4 sessions.
*/
select lead_id, client_key, link_type
from {{ ref "int_lead_identity" }}
where not regexp_contains(client_key, '^[0-9]+[.][0-9]+$')

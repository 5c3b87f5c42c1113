/*
description: >
  A lead without web touchpoints before its creation is credited to
  Unattributed with credit 1 in every model at stage lead, and only such
  leads are. At later stages its journey also holds the sessions after its
  creation: a lead with touchpoints is never Unattributed there, and one
  without is Unattributed with credit 1 or has only post-lead touches.
*/
select f.lead_id, a.model, a.stage, a.channel, a.credit, f.touchpoint_count
from {{ ref "fct_lead_revenue" }} as f
join {{ ref "attribution_touchpoints" }} as a on a.lead_id = f.lead_id
where (a.stage = 'lead' and f.touchpoint_count = 0 and (a.channel != 'Unattributed' or a.credit != 1))
  or (f.touchpoint_count > 0 and a.channel = 'Unattributed')
  or (a.stage != 'lead' and f.touchpoint_count = 0
    and ((a.channel = 'Unattributed' and a.credit != 1) or (a.channel != 'Unattributed' and a.touch_phase != 'post_lead')))

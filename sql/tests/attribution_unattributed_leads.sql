/*
description: >
  A lead without web touchpoints is credited to Unattributed with credit 1 in
  every model, and only such leads are.
*/
select f.lead_id, a.model, a.stage, a.channel, a.credit, f.touchpoint_count
from {{ ref "fct_lead_revenue" }} as f
join {{ ref "attribution_touchpoints" }} as a on a.lead_id = f.lead_id
where (f.touchpoint_count = 0 and (a.channel != 'Unattributed' or a.credit != 1))
  or (f.touchpoint_count > 0 and a.channel = 'Unattributed')

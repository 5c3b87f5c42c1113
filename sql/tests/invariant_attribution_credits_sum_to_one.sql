/*
description: Credits of one lead sum to 1 for every attribution model and stage.
*/
select lead_id, stage, model, sum(credit) as total_credit, count(*) as touches
from {{ ref "attribution_touchpoints" }}
group by lead_id, stage, model
having abs(sum(credit) - 1) > 1e-9

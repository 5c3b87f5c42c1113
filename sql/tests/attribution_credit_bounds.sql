/*
description: >
  Every credit lies in [0, 1]; the single-touch models give exactly one touch
  credit 1 per lead and stage; revenue credit never exceeds the lead's revenue.
*/
with single as (
  select lead_id, stage, model,
    sum(case when credit = 1 then 1 else 0 end) as full_credits
  from {{ ref "attribution_touchpoints" }}
  where model in ('first_touch', 'last_touch', 'last_non_direct')
  group by lead_id, stage, model
)

select lead_id, stage, model, 'credit out of range' as problem
from {{ ref "attribution_touchpoints" }}
where credit < -1e-12 or credit > 1 + 1e-12
union all
select lead_id, stage, model, 'single-touch model without exactly one full credit'
from single
where full_credits != 1

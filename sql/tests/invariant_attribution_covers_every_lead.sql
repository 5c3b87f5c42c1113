/*
description: >
  Every lead is attributed under every model (attribution_models) at stage
  lead, every lead that reached SQL at stage sql, every lead that reached an
  opportunity at stage opportunity and every won lead at stage won; no lead
  is dropped and none is attributed at a stage it never reached.
*/
with models as (
  {{ macro "attribution_models" }}
),

expected as (
  select lead_id, 'lead' as stage from {{ ref "fct_lead_revenue" }}
  union all
  select lead_id, 'sql' from {{ ref "fct_lead_revenue" }}
  where coalesce(sql_at, opportunity_at, won_at) is not null
  union all
  select lead_id, 'opportunity' from {{ ref "fct_lead_revenue" }}
  where coalesce(opportunity_at, won_at) is not null
  union all
  select lead_id, 'won' from {{ ref "fct_lead_revenue" }}
  where won_at is not null
),

actual as (
  select lead_id, stage, count(distinct model) as models
  from {{ ref "attribution_touchpoints" }}
  group by lead_id, stage
)

select
  coalesce(e.lead_id, a.lead_id) as lead_id,
  coalesce(e.stage, a.stage) as stage,
  a.models,
  e.lead_id is null as unexpected
from expected as e
full outer join actual as a on a.lead_id = e.lead_id and a.stage = e.stage
where e.lead_id is null or a.lead_id is null or a.models != (select count(*) from models)

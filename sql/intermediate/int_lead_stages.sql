/*
description: >
  One row per live CRM lead with the first time it reached each funnel stage.
  A stage timestamp missing on the lead record is taken from the stage
  history, and won_at from the first won deal's close, so a CRM that keeps
  stages in only one of those places still yields a complete funnel.
materialized: table
tests:
  not_null: [lead_id, created_at]
  unique: [lead_id]
*/
with leads as (
  select *
  from {{ ref "stg_crm__leads" }}
  where not coalesce(is_deleted, false)
),

history as (
  select
    lead_id,
    min(case when stage = 'mql' then entered_at end) as mql_at,
    min(case when stage = 'sql' then entered_at end) as sql_at,
    min(case when stage = 'opportunity' then entered_at end) as opportunity_at,
    min(case when stage = 'won' then entered_at end) as won_at,
    min(case when stage = 'lost' then entered_at end) as lost_at,
    min(case when stage = 'disqualified' then entered_at end) as disqualified_at
  from {{ ref "stg_crm__lead_stage_history" }}
  group by lead_id
),

deals as (
  select
    lead_id,
    min(case when is_won then coalesce(closed_at, created_at) end) as first_won_at,
    min(created_at) as first_deal_at
  from {{ ref "stg_crm__deals" }}
  where not coalesce(is_deleted, false)
  group by lead_id
)

select
  l.lead_id,
  l.source_system,
  l.created_at,
  l.lifecycle_stage,
  coalesce(l.mql_at, h.mql_at) as mql_at,
  coalesce(l.sql_at, h.sql_at) as sql_at,
  coalesce(l.opportunity_at, h.opportunity_at, d.first_deal_at) as opportunity_at,
  coalesce(l.won_at, h.won_at, d.first_won_at) as won_at,
  coalesce(l.lost_at, h.lost_at) as lost_at,
  coalesce(l.disqualified_at, h.disqualified_at) as disqualified_at,
  l.disqualification_reason
from leads as l
left join history as h on h.lead_id = l.lead_id
left join deals as d on d.lead_id = l.lead_id

/*
description: >
  When each live lead first entered each funnel stage (lead, mql, sql,
  opportunity, won, lost, disqualified), from the stage dates on the lead
  record and from the CRM's stage history (Salesforce OpportunityHistory,
  mapped to the deal's lead; lead-level history where a CRM keeps it).
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, stage, entered_at]
  unique_combination: [[lead_id, stage]]
  accepted_values: {stage: [lead, mql, sql, opportunity, won, lost, disqualified]}
*/
with leads as (
  select *
  from {{ ref "stg_crm__leads" }}
  where not is_deleted
),

history_latest as (
  {{ macro "crm_latest_version" (source "crm" "stage_history") "history_id" "history_id is not null" }}
),

history as (
  select object_type, record_id, stage, entered_at
  from history_latest
  where not coalesce(is_deleted, false) and entered_at is not null
),

deals as (
  select deal_id, lead_id
  from {{ ref "stg_crm__deals" }}
  where not is_deleted and lead_id is not null
),

entries as (
  select lead_id, 'lead' as stage, created_at as entered_at from leads
  union all
  select lead_id, 'mql', mql_at from leads
  union all
  select lead_id, 'sql', sql_at from leads
  union all
  select lead_id, 'opportunity', opportunity_at from leads
  union all
  select lead_id, 'won', won_at from leads
  union all
  select lead_id, 'lost', lost_at from leads
  union all
  select lead_id, 'disqualified', disqualified_at from leads
  union all
  select d.lead_id, h.stage, h.entered_at
  from history as h
  join deals as d on h.object_type = 'deal' and d.deal_id = h.record_id
  union all
  select l.lead_id, h.stage, h.entered_at
  from history as h
  join leads as l on h.object_type = 'lead' and l.lead_id = h.record_id
)

select lead_id, stage, min(entered_at) as entered_at
from entries
where entered_at is not null
  and stage in ('lead', 'mql', 'sql', 'opportunity', 'won', 'lost', 'disqualified')
group by lead_id, stage

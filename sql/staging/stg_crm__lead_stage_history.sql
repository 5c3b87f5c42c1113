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
  {{ macro "crm_latest_version" (source "crm" "stage_history") "history_id" "history_id is not null"
    "object_type, record_id, stage, entered_at" }}
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

stages as (
  select 'lead' as stage
  union all select 'mql'
  union all select 'sql'
  union all select 'opportunity'
  union all select 'won'
  union all select 'lost'
  union all select 'disqualified'
),

-- the stage dates on the lead record, one row per stage
record_entries as (
  select
    l.lead_id,
    s.stage,
    case s.stage
      when 'lead' then l.created_at
      when 'mql' then l.mql_at
      when 'sql' then l.sql_at
      when 'opportunity' then l.opportunity_at
      when 'won' then l.won_at
      when 'lost' then l.lost_at
      when 'disqualified' then l.disqualified_at
    end as entered_at
  from leads as l
  cross join stages as s
),

entries as (
  select lead_id, stage, entered_at from record_entries
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
  and stage in (select stage from stages)
group by lead_id, stage

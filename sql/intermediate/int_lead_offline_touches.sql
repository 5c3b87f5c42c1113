/*
description: >
  Every non-web touch of a live lead (stg_crm__touches): matched by lead_id,
  or by email_sha256 when the touch names no lead, that is not deleted, has a
  touch time and falls at most attribution_window_days before the lead's
  creation. touch_key stands in for a session key ('crm:' system ':' id);
  is_pre_lead says whether it happened by the lead's creation
  (int_lead_touchpoints takes those; attribution_touchpoints the later ones
  as post-lead touches). is_engaged holds for two-way touches (event,
  webinar, call, meeting). version_conflict is stg_crm__touches': the
  touch's latest versions differ (int_quarantined_leads holds its leads back).
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, touch_key, touch_type, touch_at, channel, is_pre_lead, version_conflict]
  unique_combination: [[lead_id, touch_key]]
*/
with touches as (
  select *
  from {{ ref "stg_crm__touches" }}
  where not is_deleted and touched_at is not null
),

emails as (
  select distinct lead_id, email_sha256
  from {{ ref "stg_crm__leads" }}
  where email_sha256 is not null and not coalesce(is_deleted, false)
),

matched as (
  select t.lead_id as matched_lead_id, t.source_system, t.touch_id, t.touch_type, t.touched_at,
    t.channel, t.source, t.medium, t.campaign, t.version_conflict
  from touches as t
  where t.lead_id is not null
  union all
  select e.lead_id, t.source_system, t.touch_id, t.touch_type, t.touched_at,
    t.channel, t.source, t.medium, t.campaign, t.version_conflict
  from touches as t
  join emails as e on e.email_sha256 = t.email_sha256
  where t.lead_id is null
)

select distinct
  l.lead_id,
  concat('crm:', m.source_system, ':', m.touch_id) as touch_key,
  m.touch_type,
  m.touched_at as touch_at,
  m.channel,
  m.source,
  m.medium,
  m.campaign,
  m.touch_type in ('event', 'webinar', 'call', 'meeting') as is_engaged,
  m.touched_at <= l.created_at as is_pre_lead,
  {{ days_between "l.created_at" "m.touched_at" }} as days_before_lead,
  m.version_conflict
from matched as m
join {{ ref "int_lead_stages" }} as l on l.lead_id = m.matched_lead_id
where {{ days_between "l.created_at" "m.touched_at" }} <= {{ var "attribution_window_days" }}

/*
description: >
  One row per stage event of a live lead that an activation destination may
  receive (GA4, Google Ads, Meta, LinkedIn), with every identifier, consent
  and value any of them needs; the activation runner reads it, and each
  destination decides which stages it takes and whether an event is inside
  its windows. Stages: lead (created), mql, sql, opportunity, won, lost and
  disqualified; a spam lead has only its disqualified event. event_key is
  stable per (lead, stage, stage time) and identical to the key the GA4
  writer used before this model, so nothing already sent is sent again.
  Early stages carry the predicted value of lead_value_predictions (the
  opportunity stage the SQL-stage prediction); won carries the revenue won.
  Reasons are the fixed vocabulary (reason_vocabulary macro), never the
  CRM's text. Personal data appears only as SHA-256 hashes. Quarantined
  leads (int_quarantined_leads) are left out until their CRM rows are fixed,
  and a won event whose revenue no rate converts
  (fct_lead_revenue.revenue_has_no_rate) until the rate is there. A lead
  created after the newest GA4 session loaded waits for GA4's export to
  reach it: its spam judgement and its form session come from GA4.
  former_lead_ids lists, comma-separated, the leads a CRM merged into this
  one (stg_crm__merges): the runner sends no stage already delivered under
  them. gbraid and wbraid are Google Ads' iOS click ids from the lead-form
  session's landing URL; ad_consent is the CRM's, else the lead-form
  session's GA4 ads consent (privacy_info.ads_storage).
  Rebuilt in full: lead-grain, restated by any CRM change; sessions are
  joined only by the leads' form sessions, clients and gclids (consent, last
  visit, click time), hash probes by lead, not a scan of days.
materialized: table
cluster_by: [client_key]
tests:
  not_null: [event_key, lead_id, stage, event_at, lead_created_at]
  unique: [event_key]
  accepted_values:
    stage: [lead, mql, sql, opportunity, won, lost, disqualified]
    value_kind: [actual, predicted]
    reason: [spam, bot, duplicate, no_budget, no_fit, competitor, other]
    ad_consent: [granted, denied]
*/
with leads as (
  select * from {{ ref "fct_lead_revenue" }}
),

crm as (
  select lead_id, gclid, email_sha256, email_sha256_google, meta_lead_id, li_fat_id, ad_consent
  from {{ ref "stg_crm__leads" }}
),

quarantined as (
  select distinct lead_id from {{ ref "int_quarantined_leads" }}
),

-- The leads a CRM merged into each lead: what reached a platform under
-- them reached it for this lead (the runner's already_delivered).
former_leads as (
  select into_id as lead_id, string_agg(merged_id, ',' order by merged_id) as former_lead_ids
  from {{ ref "stg_crm__merges" }}
  where object_type = 'lead'
  group by into_id
),

-- The session whose form created the lead: its click ids and ads consent.
form_sessions as (
  select f.lead_id, s.gbraid, s.wbraid, s.ads_consent
  from {{ ref "int_lead_form_sessions" }} as f
  join {{ ref "stg_ga4__sessions" }} as s on s.session_key = f.session_key
),

predictions as (
  select lead_id, stage, predicted_value
  from {{ ref "lead_value_predictions" }}
  where predicted_value is not null
),

-- How far the GA4 export reaches. The CRM is fresher than GA4's daily
-- export: a lead created after it has no form session yet, and judged
-- without it a bot would pass as genuine (a conversion at the ad
-- platforms, which cannot be taken back) and a genuine lead would be
-- disqualified. Its events wait until the export reaches its creation.
-- No GA4 data at all (a CRM-only project): nothing waits.
ga4_through as (
  select max(session_end_ts) as through from {{ ref "stg_ga4__sessions" }}
),

-- The user's newest session on any linked client id: GA4 passes
-- Measurement Protocol events to Google Ads only within 63 days of it.
last_sessions as (
  select i.lead_id, max(s.session_start_ts) as last_session_at
  from {{ ref "int_lead_identity" }} as i
  join {{ ref "stg_ga4__sessions" }} as s on s.client_key = i.client_key
  group by i.lead_id
),

-- When the ad click behind the lead's gclid happened (its first session).
clicks as (
  select c.lead_id, min(s.session_start_ts) as click_at
  from crm as c
  join {{ ref "stg_ga4__sessions" }} as s on s.gclid = c.gclid
  group by c.lead_id
),

stages as (
  select lead_id, 'lead' as stage, 'generate_lead' as event_name, created_at as event_at
  from leads where not is_spam
  union all
  select lead_id, 'mql', 'qualify_lead', mql_at from leads where mql_at is not null and not is_spam
  union all
  select lead_id, 'sql', 'qualify_lead', sql_at from leads where sql_at is not null and not is_spam
  union all
  select lead_id, 'opportunity', 'working_lead', opportunity_at from leads where opportunity_at is not null and not is_spam
  union all
  select lead_id, 'won', 'close_convert_lead', won_at from leads where won_at is not null and not is_spam
  union all
  select lead_id, 'lost', 'close_unconvert_lead', lost_at from leads where lost_at is not null and won_at is null and not is_spam
  union all
  -- Spam is a disqualification even when the CRM never recorded one.
  select lead_id, 'disqualified', 'disqualify_lead', coalesce(disqualified_at, created_at)
  from leads where disqualified_at is not null or is_spam
)

select
  -- The GA4 writer's key: stable across runs and engines, the stage time
  -- entering as epoch microseconds. A changed stage time makes a new key;
  -- the activation runner still sends a lead's stage once per destination
  -- (already_delivered).
  {{ fingerprint "coalesce(l.source_system, '') || '|' || s.lead_id || '|' || s.event_name || '|' || s.stage || '|' || cast(unix_micros(s.event_at) as string)" }} as event_key,
  s.lead_id,
  s.stage,
  s.event_name,
  s.event_at,
  l.created_at as lead_created_at,
  case
    when s.stage = 'won' then l.revenue_reporting
    when s.stage in ('lead', 'mql', 'sql', 'opportunity') then p.predicted_value
  end as value,
  case
    when s.stage = 'won' and l.revenue_reporting is not null then 'actual'
    when s.stage in ('lead', 'mql', 'sql', 'opportunity') and p.predicted_value is not null then 'predicted'
  end as value_kind,
  l.reporting_currency as currency,
  case
    when s.stage != 'disqualified' then null
    when l.is_spam then {{ macro "reason_vocabulary" "coalesce(l.spam_reason, 'spam')" }}
    else coalesce({{ macro "reason_vocabulary" "l.disqualification_reason" }}, 'other')
  end as reason,
  l.client_key,
  l.lead_form_ga_session_id as ga_session_id,
  ls.last_session_at,
  c.gclid,
  k.click_at,
  c.meta_lead_id,
  c.li_fat_id,
  c.email_sha256,
  c.email_sha256_google,
  coalesce(c.ad_consent, fs.ads_consent) as ad_consent,
  fs.gbraid,
  fs.wbraid,
  fl.former_lead_ids
from stages as s
join leads as l on l.lead_id = s.lead_id
left join crm as c on c.lead_id = s.lead_id
left join predictions as p
  on p.lead_id = s.lead_id
  and p.stage = case s.stage when 'opportunity' then 'sql' else s.stage end
left join last_sessions as ls on ls.lead_id = s.lead_id
left join clicks as k on k.lead_id = s.lead_id
left join form_sessions as fs on fs.lead_id = s.lead_id
left join former_leads as fl on fl.lead_id = s.lead_id
cross join ga4_through as g
where s.event_at is not null
  and (g.through is null or l.created_at <= g.through)
  and s.lead_id not in (select lead_id from quarantined)
  -- won revenue no rate converts yet waits for the rate: sent without its
  -- value, the conversion would stay at the platforms worth nothing
  and not (s.stage = 'won' and l.revenue_has_no_rate)

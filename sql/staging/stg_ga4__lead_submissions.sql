/*
description: >
  One row per generate_lead event: the form submission a CRM lead is matched
  to, with the submitting client, session, form and any gclid seen in that
  session. Cookieless submissions (no client id) are kept, with NULL
  client_key and session_key, so they are counted but never linked.
materialized: incremental
partition_by: submitted_date
cluster_by: [client_key]
unique_key: [submission_key]
lookback_days: 3
tests:
  not_null: [submission_key, submitted_at, submitted_date, is_cookieless]
  unique: [submission_key]
*/
with submissions as (
  select *
  from {{ ref "stg_ga4__events" }}
  where event_name = 'generate_lead'
    and {{ incremental_filter "event_date" }}
),

session_gclids as (
  select session_key, max(gclid) as gclid
  from {{ ref "stg_ga4__events" }}
  where gclid is not null
    and session_key is not null
    and {{ incremental_filter "event_date" }}
  group by session_key
)

select
  s.event_key as submission_key,
  s.property_id,
  s.client_key,
  s.session_key,
  s.ga_session_id,
  s.form_id,
  s.event_ts as submitted_at,
  s.event_date as submitted_date,
  s.user_id,
  coalesce(s.gclid, g.gclid) as gclid,
  s.page_location,
  s.is_cookieless
from submissions as s
left join session_gclids as g on g.session_key = s.session_key

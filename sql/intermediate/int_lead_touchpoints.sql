/*
description: >
  A lead's web touchpoints: the GA4 sessions of every client key linked to it
  (int_lead_identity) that started within attribution_window_days before the
  lead's creation, plus the session that submitted the lead's form even when
  clock skew puts its start after the CRM creation time. Ordered by session
  start, ties broken by session_key so equal timestamps order the same on
  every build. Leads without a web touchpoint have no rows here; the marts
  credit them to Unattributed.
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, session_key, touch_at, position, touch_count, channel]
  unique_combination: [[lead_id, position], [lead_id, session_key]]
*/
with lead_clients as (
  {{ macro "lead_client_keys" (ref "int_lead_stages") (ref "int_lead_identity") }}
),

forms as (
  select lead_id, session_key
  from {{ ref "int_lead_form_sessions" }}
),

touches as (
  select distinct
    l.lead_id,
    s.session_key,
    s.client_key,
    s.session_start_ts as touch_at,
    coalesce(s.channel, 'Unassigned') as channel,
    s.source,
    s.medium,
    s.campaign,
    coalesce(s.is_engaged, false) as is_engaged,
    f.session_key is not null as is_lead_form_session,
    {{ days_between "l.created_at" "s.session_start_ts" }} as days_before_lead
  from lead_clients as l
  join {{ ref "stg_ga4__sessions" }} as s on s.client_key = l.client_key
  left join forms as f on f.lead_id = l.lead_id and f.session_key = s.session_key
  where {{ days_between "l.created_at" "s.session_start_ts" }} <= {{ var "attribution_window_days" }}
    and (s.session_start_ts <= l.created_at or f.session_key is not null)
)

select
  lead_id,
  session_key,
  client_key,
  touch_at,
  row_number() over (partition by lead_id order by touch_at, session_key) as position,
  count(*) over (partition by lead_id) as touch_count,
  channel,
  source,
  medium,
  campaign,
  is_engaged,
  is_lead_form_session,
  days_before_lead
from touches

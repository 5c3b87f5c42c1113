/*
description: >
  A lead's touchpoints: the GA4 sessions of every client key linked to it
  (int_lead_identity) that started within attribution_window_days before the
  lead's creation, plus the session that submitted the lead's form even when
  clock skew puts its start after the CRM creation time; and beside them its
  non-web touches by its creation (int_lead_offline_touches: events,
  webinars, calls, meetings, direct mail, campaign responses), whose
  session_key is their touch_key and client_key NULL. touch_type says which
  (web_session for a session). Ordered by touch time, ties broken by
  session_key so equal timestamps order the same on every build. Leads
  without a touchpoint have no rows here; the marts credit them to
  Unattributed.
materialized: table
cluster_by: [lead_id]
tests:
  not_null: [lead_id, session_key, touch_at, position, touch_count, channel, touch_type]
  accepted_values: {touch_type: [web_session, event, webinar, call, meeting, direct_mail, campaign_member]}
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
    'web_session' as touch_type,
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
  union all
  select
    lead_id,
    touch_key,
    touch_type,
    cast(null as string),
    touch_at,
    channel,
    source,
    medium,
    campaign,
    is_engaged,
    false,
    days_before_lead
  from {{ ref "int_lead_offline_touches" }}
  where is_pre_lead
)

select
  lead_id,
  session_key,
  touch_type,
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

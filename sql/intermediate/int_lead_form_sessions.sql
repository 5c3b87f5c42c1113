/*
description: >
  The web form submission that created each lead, when one can be found: a
  GA4 lead submission by any client key linked to the lead
  (int_lead_identity), submitted within the attribution window before the
  lead's creation or up to a day after it (CRM and GA clocks differ), the one
  nearest the creation time. Carries the submitting session's facts the lead
  fact and the spam rules need.
materialized: table
tests:
  not_null: [lead_id, session_key, submitted_at]
  unique: [lead_id]
*/
with lead_clients as (
  {{ macro "lead_client_keys" (ref "int_lead_stages") (ref "int_lead_identity") }}
),

candidates as (
  select
    l.lead_id,
    s.submission_key,
    s.session_key,
    s.client_key,
    s.form_id,
    s.submitted_at,
    row_number() over (
      partition by l.lead_id
      order by abs({{ days_between "l.created_at" "s.submitted_at" }}), s.submitted_at desc, s.submission_key
    ) as nearest
  from lead_clients as l
  join {{ ref "stg_ga4__lead_submissions" }} as s on s.client_key = l.client_key
  where {{ days_between "l.created_at" "s.submitted_at" }} between -1 and {{ var "attribution_window_days" }}
),

chosen as (
  select * from candidates where nearest = 1
)

select
  c.lead_id,
  c.submission_key,
  c.session_key,
  s.ga_session_id,
  c.client_key,
  c.form_id,
  c.submitted_at,
  s.session_start_ts,
  s.is_engaged,
  coalesce(s.channel, 'Unassigned') as channel,
  s.source,
  s.medium,
  s.campaign,
  -- seconds from landing to submitting the form: bots submit at once
  {{ days_between "c.submitted_at" "s.session_start_ts" }} * 86400 as seconds_to_submit
from chosen as c
left join {{ ref "stg_ga4__sessions" }} as s on s.session_key = c.session_key

/*
description: >
  One row per live CRM lead (deleted leads excluded): its GA client ids, its
  first, last and lead-form web sessions with their channel, source, medium
  and campaign, the first time it reached each funnel stage, the revenue of
  its won deals in the deal currency and in the reporting currency, days from
  lead to won, and a spam/bot flag with the reason. Columns are documented
  in README.md; the GA4 writer reads them, so they change only with it.
  Rebuilt in full: one row per lead, restated by any CRM change; it reads no
  session-grain table directly.
materialized: table
partition_by: lead_date
cluster_by: [lead_id]
tests:
  not_null: [lead_id, created_at, lead_date, is_spam, touchpoint_count, reporting_currency]
  unique: [lead_id]
*/
with leads as (
  select * from {{ ref "int_lead_stages" }}
),

touches as (
  select * from {{ ref "int_lead_touchpoints" }}
),

first_touch as (
  select * from touches where position = 1
),

last_touch as (
  select * from touches where position = touch_count
),

touch_summary as (
  select
    lead_id,
    count(*) as touchpoint_count,
    max(case when is_engaged then 1 else 0 end) as any_engaged
  from touches
  group by lead_id
),

forms as (
  select * from {{ ref "int_lead_form_sessions" }}
),

client_keys as (
  select
    lead_id,
    array_agg(distinct client_key order by client_key) as client_keys,
    min(client_key) as any_client_key
  from {{ ref "int_lead_identity" }}
  where client_key is not null
  group by lead_id
),

won_deals as (
  select
    d.lead_id,
    d.amount,
    upper(d.currency) as currency,
    cast(coalesce(d.closed_at, d.created_at) as date) as closed_date
  from {{ ref "stg_crm__deals" }} as d
  where d.is_won and not coalesce(d.is_deleted, false)
),

won_converted as (
  select
    w.*,
    case
      when w.currency = {{ var "reporting_currency" }} then w.amount
      else {{ safe_cast "w.amount * fx.rate" "NUMERIC" }}
    end as amount_reporting,
    w.currency != {{ var "reporting_currency" }} and fx.rate is null as fx_missing
  from won_deals as w
  left join {{ ref "stg_fx__rates" }} as fx
    on {{ macro "fx_rate_on" "fx" "w.currency" "w.closed_date" }}
),

revenue as (
  select
    lead_id,
    sum(amount) as amount,
    count(distinct currency) as currencies,
    min(currency) as currency,
    sum(amount_reporting) as amount_reporting,
    max(case when fx_missing then 1 else 0 end) as any_fx_missing
  from won_converted
  group by lead_id
),

joined as (
  select
    l.*,
    ck.client_keys,
    coalesce(f.client_key, lt.client_key, ck.any_client_key) as client_key,
    ft.session_key as first_touch_session_key,
    ft.touch_at as first_touch_at,
    ft.channel as first_touch_channel,
    ft.source as first_touch_source,
    ft.medium as first_touch_medium,
    ft.campaign as first_touch_campaign,
    lt.session_key as last_touch_session_key,
    lt.touch_at as last_touch_at,
    lt.channel as last_touch_channel,
    lt.source as last_touch_source,
    lt.medium as last_touch_medium,
    lt.campaign as last_touch_campaign,
    f.session_key as lead_form_session_key,
    f.ga_session_id as lead_form_ga_session_id,
    f.submitted_at as lead_form_submitted_at,
    f.form_id as lead_form_form_id,
    f.channel as lead_form_channel,
    f.source as lead_form_source,
    f.medium as lead_form_medium,
    f.campaign as lead_form_campaign,
    f.seconds_to_submit,
    coalesce(ts.touchpoint_count, 0) as touchpoint_count,
    ts.any_engaged,
    -- one revenue figure needs one currency; mixed-currency leads keep only
    -- the reporting-currency total
    case when r.currencies = 1 then r.amount end as revenue,
    case when r.currencies = 1 then r.currency end as currency,
    case when r.any_fx_missing = 0 then r.amount_reporting end as revenue_reporting,
    coalesce(r.any_fx_missing = 1, false) as revenue_has_no_rate,
    -- CRM reasons that mean "not a real prospect"
    regexp_contains(
      lower(coalesce(l.disqualification_reason, '')),
      '(^|[^a-z])(spam|bots?|fake|junk|test|fraud|invalid|gibberish)([^a-z]|$)'
    ) as crm_spam
  from leads as l
  left join client_keys as ck on ck.lead_id = l.lead_id
  left join first_touch as ft on ft.lead_id = l.lead_id
  left join last_touch as lt on lt.lead_id = l.lead_id
  left join forms as f on f.lead_id = l.lead_id
  left join touch_summary as ts on ts.lead_id = l.lead_id
  left join revenue as r on r.lead_id = l.lead_id
),

flagged as (
  select
    *,
    case
      when crm_spam then concat('crm_disqualified: ', disqualification_reason)
      -- nobody reads a page and fills a form within 10 seconds of landing
      when seconds_to_submit is not null and seconds_to_submit < 10 then 'form_submitted_within_10s_of_landing'
      when touchpoint_count > 0 and any_engaged = 0 then 'no_engaged_session'
    end as spam_reason
  from joined
)

select
  lead_id,
  source_system,
  created_at,
  cast(created_at as date) as lead_date,
  client_key,
  client_keys,
  first_touch_session_key,
  first_touch_at,
  first_touch_channel,
  first_touch_source,
  first_touch_medium,
  first_touch_campaign,
  last_touch_session_key,
  last_touch_at,
  last_touch_channel,
  last_touch_source,
  last_touch_medium,
  last_touch_campaign,
  lead_form_session_key,
  lead_form_ga_session_id,
  lead_form_submitted_at,
  lead_form_form_id,
  lead_form_channel,
  lead_form_source,
  lead_form_medium,
  lead_form_campaign,
  mql_at,
  sql_at,
  opportunity_at,
  won_at,
  lost_at,
  disqualified_at,
  disqualification_reason,
  revenue,
  currency,
  revenue_reporting,
  {{ var "reporting_currency" }} as reporting_currency,
  case when won_at is not null then {{ days_between "won_at" "created_at" }} end as days_to_won,
  spam_reason is not null as is_spam,
  spam_reason,
  touchpoint_count,
  revenue_has_no_rate
from flagged
